"""The public status page: rendering (render.py), reading the room and writing the static site
(site.py), serving it live at /status/ with its subscribers (live.py). docs/statuspage.md."""
