"""Running actions: a dispatcher over one handler module per action kind.

The table of handlers is built in runner_svc.main; a kind's request schema and model live
in shared.actions.
"""

from runner_svc.actions.base import ActionHandler, ActionRunner
from runner_svc.actions.dispatch import ActionDispatcher

__all__ = ["ActionDispatcher", "ActionHandler", "ActionRunner"]
