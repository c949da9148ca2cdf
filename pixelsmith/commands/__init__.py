"""The command line's verbs, a module each (click only at import: torch loads when one runs).

tasks.py     which commands the registered tasks give; the group that makes them on demand
restore.py   ``pixelsmith VERB INPUTS``: a task's verb, its flags from the task class
evaluate.py  ``pixelsmith eval TASK``: the task's protocol, its metrics printed
train.py     ``pixelsmith train TASK``: the trainer, its flags from TrainConfig and the task
viz.py       ``pixelsmith viz``: filters, activations, occlusion, top patches, features
info.py      ``pixelsmith demo``, ``masks``, ``summary``, ``models``
"""
