# JupyterHub with SystemdSpawner for dockerlearn, on a server whose PID 1 is systemd
# (docs/classroom.md, "生产环境"). scripts/qemu-systemd-smoke boots this very file in a Debian 12 VM.
#
# It is the classroom's own configuration (dockerlearn/classroom/hub.py: PAM logins, the roster,
# the dashboard service, the teachers role, everything on 127.0.0.1) with the spawner swapped for
# SystemdSpawner: each student's server is a systemd unit, jupyter-<user>-singleuser.
# The class directory holds class.json, as `dockerlearn classroom` writes it.
# On The Littlest JupyterHub, the lines after configure() go to
# /opt/tljh/config/jupyterhub_config.d/dockerlearn.py.
import os

from dockerlearn.classroom.hub import configure

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

configure(c, os.environ.get("DOCKERLEARN_CLASS_DIR", "/srv/dockerlearn-class"))

c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
c.Spawner.cmd = ["/opt/dockerlearn/.venv/bin/python", "-m", "dockerlearn", "singleuser"]
c.Spawner.environment = {**c.Spawner.environment, "DOCKERLEARN_CACHE": "/var/cache/dockerlearn"}
# A private /tmp for each student.
c.SystemdSpawner.isolate_tmp = True
# Both must stay off: PrivateDevices hides /dev/net/tun, and NoNewPrivileges stops newuidmap
# from raising its privileges; either one makes the rootless sandbox fail to start.
c.SystemdSpawner.isolate_devices = False
c.SystemdSpawner.disable_user_sudo = False
