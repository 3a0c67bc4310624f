-- Indexes on the instant each record "closes" for state metrics, exactly as the live event SQL
-- in dashboard/sources.py writes it, so reading the events after a view's watermark is an
-- index range scan instead of a table scan.
CREATE INDEX opp_org_closed_event ON operations_opportunity
    (organization_id, GREATEST(created_at, closed_at)) WHERE closed_at IS NOT NULL;
CREATE INDEX job_org_closed_event ON operations_installationjob
    (organization_id, GREATEST(created_at, LEAST(completed_at, cancelled_at)))
    WHERE completed_at IS NOT NULL OR cancelled_at IS NOT NULL;
CREATE INDEX claim_org_closed_event ON operations_warrantyclaim
    (organization_id, GREATEST(opened_at, resolved_at)) WHERE resolved_at IS NOT NULL;
CREATE INDEX customer_org_closed_event ON operations_customer
    (organization_id, GREATEST(created_at, archived_at)) WHERE archived_at IS NOT NULL;
