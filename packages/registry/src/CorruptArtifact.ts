import { FlywheelError } from '@flywheel/runtime';

/** An artifact is missing, half-written or does not match its recorded sha256: do not serve it; re-export or retrain. */
export class CorruptArtifact extends FlywheelError {
  readonly kind = 'corrupt' as const;
}
