"""No tasks: lmms-eval's plugin lookup needs the package (lmms_eval_facts 1a)."""
