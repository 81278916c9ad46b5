-- The operator float also goes down when the hot wallet spends outside a withdrawal (an operator
-- moving float out, or anything else signed with its key): such transfers and their gas are
-- recorded as negative amounts next to the fundings.
ALTER TABLE hot_wallet_fundings DROP CONSTRAINT hot_wallet_fundings_amount_base_units_check;
ALTER TABLE hot_wallet_fundings ADD CONSTRAINT hot_wallet_fundings_amount_nonzero CHECK (amount_base_units <> 0);
