"""The audit log: who changed a target or a dashboard layout, when, and from what to what.

django-auditlog records every create, update and delete of the registered models with the
acting user (its middleware); this app only says which models are audited. Read the entries in
the admin (Audit log → Log entries) or through `auditlog.models.LogEntry`.
"""
