"""``python -m pixelsmith.batch TASK IN_DIR OUT_DIR``: ``pixelsmith run`` (torchrun takes ``-m``)."""

from pixelsmith.batch.command import run_command

run_command(prog_name="pixelsmith run")
