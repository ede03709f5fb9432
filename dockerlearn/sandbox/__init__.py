"""The sandbox: a dockerd of the course's own, its registry and the base images it starts with.

- lifecycle.py: `Sandbox` (up, down, reset, destroy, status) and `current()`, the one a notebook uses;
- engine.py: the sandbox's dockerd and the docker CLI that ships with it, never another one on PATH;
- procs.py: the background services: started detached, recognised by pid and start time, stopped;
- registry.py: Debian's docker-registry and a client for its API;
- gateway.py: the registry's front door (`python -m dockerlearn.sandbox.gateway`): mirror and private ports;
- seeds.py, imagebuild.py: the base images, built from Debian packages without a daemon;
- rootless.py: an ordinary user's daemon in a user namespace (rootlesskit, slirp4netns);
- baseline.py: a bare dockerd, the "user's own Docker" that tests and benchmarks hold the sandbox against.
"""
