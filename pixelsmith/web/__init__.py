"""The web page: ``pixelsmith serve`` runs a small local server (FastAPI + uvicorn) and its page.

- :mod:`~pixelsmith.web.catalog`: what the page offers, read from the task registry (tasks, their
  options and models), so a task that registers later appears with no change here;
- :mod:`~pixelsmith.web.uploads`: byte and pixel limits, content sniffing, server-chosen names;
- :mod:`~pixelsmith.web.jobs`: the bounded job queue (workers, waiting room, progress, cancel,
  expiry), with no knowledge of images;
- :mod:`~pixelsmith.web.runner`: one job through the API's pieces (a cache of loaded models);
- :mod:`~pixelsmith.web.app`: the HTTP routes; :mod:`~pixelsmith.web.command`: the click command.

Nothing here is imported by ``import pixelsmith``; FastAPI is needed only by ``app``.
"""
