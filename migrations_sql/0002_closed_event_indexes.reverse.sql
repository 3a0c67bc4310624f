DROP INDEX IF EXISTS customer_org_closed_event;
DROP INDEX IF EXISTS claim_org_closed_event;
DROP INDEX IF EXISTS job_org_closed_event;
DROP INDEX IF EXISTS opp_org_closed_event;
