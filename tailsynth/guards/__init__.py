"""Guard rails: catch harmful synthetic data before it trains a retriever (issue 16 pt 3).

- ``checks``: over a finished synthesis run in the store, warn or stop when a filter keeps nearly
  everything it scores, when the business scores sit at the threshold, or when most rewrites are
  dropped (``check_run``, ``enforce``).
- ``audit``: the kept pairs' precision from something other than the filter that kept them: a
  labelled review sample (``export_audit_sample`` / ``import_audit_labels`` / ``precision_by_type``)
  or a judge (``automatic_audit``), per query type with a 95 % interval.
"""

from .audit import AuditRow, Precision, automatic_audit, export_audit_sample, import_audit_labels, precision_by_type
from .checks import Finding, GuardConfig, GuardError, GuardWarning, check_run, enforce

__all__ = ["GuardConfig", "Finding", "GuardError", "GuardWarning", "check_run", "enforce", "AuditRow", "Precision", "export_audit_sample",
           "import_audit_labels", "precision_by_type", "automatic_audit"]
