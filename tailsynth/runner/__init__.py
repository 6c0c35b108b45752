"""Run the whole method on your own catalog from one TOML config (``tailsynth run --config``).

With the chain's sections (``[sft]``, ``[qsr]``, ``[pda]``, ``[rl]``, ``[rewrite_filter]``,
``[general_filter]``, see ``runner.chain`` and ``examples/paper.toml``) the run also trains the
rewriter, its reward models and both filters before synthesis, and reports Tables 1-4.

``run(path, dry_run=False) -> Report``; ``print_plan(path)`` validates every file and prints the
stages with "done" / "to run"; ``plan(path) -> Plan`` returns the same without printing.
"""

from tailsynth.runner.config import RunConfig, load_run_config, run_config_from_dict
from tailsynth.runner.pipeline import STAGES, Report, RunError, plan, print_plan, read_markers, run
from tailsynth.runner.validate import Plan, Problem, check_data

__all__ = ["RunConfig", "load_run_config", "run_config_from_dict", "run", "plan", "print_plan", "Report",
           "RunError", "Plan", "Problem", "check_data", "read_markers", "STAGES"]
