import { ConfigError, DependencyDown, NotFound } from '@flywheel/runtime';
import { describe, expect, it } from 'vitest';
import { columnFormat, formatOf, modelArg, parseCli, positiveInt, versionArg } from './cliArgs.js';
import { BadInput, exitCodeOf, ServiceRefused, UsageError } from './cliErrors.js';

describe('parseCli', () => {
  it('splits the command from its arguments and flags', () => {
    const p = parseCli(['watch', 'in', '--model', 'm', '--once']);
    expect(p.command).toBe('watch');
    expect(p.args).toEqual(['in']);
    expect(p.o.model).toBe('m');
    expect(p.o.once).toBe(true);
  });
  it('turns an unknown flag into a usage error', () => {
    expect(() => parseCli(['versions', '--nope'])).toThrow(UsageError);
  });
});

describe('argument checks', () => {
  it('refuses a malformed model name as a usage error', () => {
    expect(() => modelArg('Bad Name')).toThrow(UsageError);
    expect(modelArg('shop-1')).toBe('shop-1');
  });
  it('refuses a version that is not MAJOR.MINOR.PATCH', () => {
    expect(() => versionArg('v1')).toThrow(/MAJOR.MINOR.PATCH/);
    expect(versionArg('1.2.3')).toBe('1.2.3');
  });
  it('accepts only whole numbers ≥ 1 for counts', () => {
    expect(positiveInt(undefined, '--epochs')).toBeUndefined();
    expect(positiveInt('3', '--epochs')).toBe(3);
    expect(() => positiveInt('0', '--epochs')).toThrow(UsageError);
    expect(() => positiveInt('2.5', '--epochs')).toThrow(UsageError);
  });
});

describe('columnFormat', () => {
  it('defaults to text/label columns with a header, format from the extension', () => {
    expect(columnFormat(parseCli(['watch']).o, 'a.csv')).toEqual({ format: 'csv', header: true, textColumn: 'text', labelColumn: 'label' });
    expect(formatOf('a.JSONL', undefined)).toBe('jsonl');
    expect(formatOf('a.ndjson', undefined)).toBe('jsonl');
  });
  it('reads numeric columns as 0-based indexes and honours --format and --label-depth', () => {
    const o = parseCli(['watch', '--text-column', '1', '--label-column', 'cat', '--no-header', '--format', 'jsonl', '--label-depth', '2']).o;
    expect(columnFormat(o, 'a.csv')).toEqual({ format: 'jsonl', header: false, textColumn: 1, labelColumn: 'cat', labelDepth: 2 });
  });
  it('refuses an unknown format', () => {
    expect(() => columnFormat(parseCli(['watch', '--format', 'xlsx']).o, 'a.csv')).toThrow(/csv or jsonl/);
  });
});

describe('exitCodeOf', () => {
  it('maps usage and config errors to 2, refusals to 1, outages and surprises to 3', () => {
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new ConfigError('x'))).toBe(2);
    expect(exitCodeOf(new NotFound('x'))).toBe(1);
    expect(exitCodeOf(new BadInput('x'))).toBe(1);
    expect(exitCodeOf(new ServiceRefused('serving', 409, 'conflict', 'x'))).toBe(1);
    expect(exitCodeOf(new DependencyDown('x'))).toBe(3);
    expect(exitCodeOf(new Error('x'))).toBe(3);
  });
});
