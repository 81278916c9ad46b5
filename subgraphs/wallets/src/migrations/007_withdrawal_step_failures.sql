-- Consecutive errors of the processor's current step on one withdrawal (a node or core answer it
-- cannot use). Reset when a step on it succeeds; at WITHDRAWAL_MAX_STEP_FAILURES the withdrawal
-- goes to NEEDS_ATTENTION with the error as attention_reason, so the others keep flowing.
ALTER TABLE withdrawals ADD COLUMN step_failures integer NOT NULL DEFAULT 0 CHECK (step_failures >= 0);
