-- The daily summaries have been tables since 0004; their names now say so (daily_<source>).
ALTER TABLE mv_daily_metrics RENAME TO daily_sales;
ALTER INDEX mv_daily_metrics_uniq RENAME TO daily_sales_uniq;
ALTER TABLE mv_daily_pipeline RENAME TO daily_pipeline;
ALTER INDEX mv_daily_pipeline_uniq RENAME TO daily_pipeline_uniq;
ALTER TABLE mv_daily_jobs RENAME TO daily_jobs;
ALTER INDEX mv_daily_jobs_uniq RENAME TO daily_jobs_uniq;
ALTER TABLE mv_daily_warranty RENAME TO daily_warranty;
ALTER INDEX mv_daily_warranty_uniq RENAME TO daily_warranty_uniq;
ALTER TABLE mv_daily_customers RENAME TO daily_customers;
ALTER INDEX mv_daily_customers_uniq RENAME TO daily_customers_uniq;
ALTER TABLE mv_daily_activities RENAME TO daily_activities;
ALTER INDEX mv_daily_activities_uniq RENAME TO daily_activities_uniq;
UPDATE dashboard_viewrefresh SET summary = CASE summary WHEN 'mv_daily_metrics' THEN 'daily_sales' WHEN 'mv_daily_pipeline' THEN 'daily_pipeline' WHEN 'mv_daily_jobs' THEN 'daily_jobs' WHEN 'mv_daily_warranty' THEN 'daily_warranty' WHEN 'mv_daily_customers' THEN 'daily_customers' WHEN 'mv_daily_activities' THEN 'daily_activities' ELSE summary END;
UPDATE dashboard_dirtyday SET summary = CASE summary WHEN 'mv_daily_metrics' THEN 'daily_sales' WHEN 'mv_daily_pipeline' THEN 'daily_pipeline' WHEN 'mv_daily_jobs' THEN 'daily_jobs' WHEN 'mv_daily_warranty' THEN 'daily_warranty' WHEN 'mv_daily_customers' THEN 'daily_customers' WHEN 'mv_daily_activities' THEN 'daily_activities' ELSE summary END;
