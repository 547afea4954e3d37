-- The reference a DBA would run by hand: load the tape with \copy, then one full outer join
-- against the registry producing the same discrepancy counts as ReconcileLoanTape.
-- psql does not expand variables inside \copy, so run-benchmarks.sh puts the tape's path in
-- place of TAPE_FILE:  sed 's|TAPE_FILE|/path/tape.csv|' tape-reference.sql | psql -v bank=seed-bank DATABASE
\timing on
CREATE TEMP TABLE tape (bank_loan_number text, uscc text, outstanding_principal text, days_past_due text, classification text);
\copy tape FROM 'TAPE_FILE' WITH (FORMAT csv, HEADER true)
WITH t AS (
  SELECT *,
         (length(uscc) = 18
          AND outstanding_principal ~ '^[0-9]+(\.[0-9]{1,2})?$'
          AND days_past_due ~ '^[0-9]+$'
          AND classification IN ('NORMAL', 'SPECIAL_MENTION', 'SUBSTANDARD', 'DOUBTFUL', 'LOSS')) AS valid
  FROM tape
), r AS (
  SELECT *, row_number() OVER (PARTITION BY bank_loan_number, valid) AS n FROM t
), v AS (
  SELECT * FROM r WHERE valid AND n = 1
), l AS (
  SELECT bank_loan_number, outstanding_fen, days_past_due, classification
  FROM loans WHERE bank_id = :'bank' AND status NOT IN ('REPAID', 'CLOSED')
)
SELECT
  (SELECT count(*) FROM r WHERE NOT valid) AS invalid_record,
  (SELECT count(*) FROM r WHERE valid AND n > 1) AS duplicate_in_tape,
  count(*) FILTER (WHERE l.bank_loan_number IS NULL) AS missing_in_pool,
  count(*) FILTER (WHERE v.bank_loan_number IS NULL) AS missing_at_bank,
  count(*) FILTER (WHERE v.bank_loan_number IS NOT NULL AND l.bank_loan_number IS NOT NULL
                   AND round(v.outstanding_principal::numeric * 100)::bigint <> l.outstanding_fen) AS balance_mismatch,
  count(*) FILTER (WHERE v.bank_loan_number IS NOT NULL AND l.bank_loan_number IS NOT NULL
                   AND (v.days_past_due::int <> l.days_past_due OR v.classification <> l.classification)) AS status_mismatch
FROM v FULL OUTER JOIN l ON v.bank_loan_number = l.bank_loan_number;
