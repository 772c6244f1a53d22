"""The workflow state machine: its transitions and queries as data (`transitions`), the
language they are written in (`language`) and its plain-Python evaluation (`evaluate`)."""
