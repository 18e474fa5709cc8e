"""The Qt-free core of MLOps Desktop: every operation of the app, usable headless."""
