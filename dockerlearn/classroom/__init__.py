"""The classroom: JupyterHub with one Unix account and one rootless sandbox per student.

- hub.py: the JupyterHub configuration (PAM logins, a spawner that needs no systemd, the teachers
  group and its dashboard service), written from the class file;
- singleuser.py: what the spawner runs as the student: their sandbox up, their notebook copies,
  then JupyterHub's single-user JupyterLab with the sandbox's environment;
- dashboard.py: the teacher's page, a JupyterHub service behind the hub's OAuth;
- grades.py: every student's progress read into one table (the dashboard and grades.csv);
- roster.py, accounts.py: the roster (nbgrader's CSV) checked, then carried out on Unix accounts;
- bundle.py: the offline bundle (seed cache and course) for classroom machines without a network.
"""
