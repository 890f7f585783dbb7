"""The escalation engine and the notifier: the I/O side of warroom/domain/oncall/escalation.py.

Nothing here prints: log records go to the "warroom.escalation" logger, silent unless an entry
point (the `warroom engine` command) attaches a handler, so a dashboard's screen is never
written over.
"""

import logging

logging.getLogger("warroom.escalation").addHandler(logging.NullHandler())
