// Type-aware lint with the boundary rules of STYLE.md §10.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.cjs', '**/*.mjs', '**/vitest.config.ts', '**/bench/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    // The TypeScript resolver maps './x.js' to './x.ts' (NodeNext imports); the node resolver could not,
    // so no-cycle saw no edges inside a package.
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@flywheel/*/src/*', '@flywheel/*/dist/*', '@flywheel/*/internal/*'], message: 'import a package through its public entry (@flywheel/<name>), never its files' },
          { group: ['@flywheel/svc-*'], message: 'services never import each other; talk over Kafka or HTTP' },
          { group: ['../../packages/*', '../../services/*', '../../../packages/*', '../../../services/*'], message: 'import workspace packages by name, not by path' },
        ],
      }],
    },
  },
  {
    // Tests may use non-null assertions and loose casts for brevity.
    files: ['**/*.test.ts', '**/*.itest.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
