"""How a sandbox tells its own processes from every other: a whole argument (its config file)
and, for the services it spawns, the start time that goes with the pid."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dockerlearn.sandbox import procs


def sleeper(*args: str) -> subprocess.Popen:
    """A process whose command line ends with args, once it is up (or a failure naming what ran)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])
    deadline = time.monotonic() + 10
    while not procs.cmdline(proc.pid).rstrip().endswith(" ".join(args)):
        state = Path(f"/proc/{proc.pid}/stat").read_text() if Path(f"/proc/{proc.pid}").exists() else "gone"
        assert time.monotonic() < deadline and proc.poll() is None, \
            f"the sleeper did not come up: {procs.cmdline(proc.pid)!r} {state[:80]!r} rc={proc.poll()}"
        time.sleep(0.05)
    return proc


def test_marker_is_a_whole_argument_not_a_substring(tmp_path):
    marker = str(tmp_path / "config.yml")
    other = sleeper(marker + ".bak", "tail", "-f", marker + "-log")
    ours = sleeper("serve", marker)
    try:
        assert not procs.alive(other.pid, marker), "a longer path that starts the same is not ours"
        assert procs.alive(ours.pid, marker)
        assert procs.pids_matching(marker) == [ours.pid]
    finally:
        other.kill(); ours.kill(); other.wait(); ours.wait()


def test_start_time_tells_a_reused_pid():
    proc = sleeper("x")
    try:
        start = procs.start_time(proc.pid)
        assert start > 0
        assert procs.alive(proc.pid, "x", start), (procs.cmdline(proc.pid), Path(f"/proc/{proc.pid}/stat").read_text()[:80])
        # The same pid with another start time is another process (a pid reused after a reboot or a wrap).
        assert not procs.alive(proc.pid, "x", start + 1)
        procs.stop(proc.pid, "x", start=start + 1, timeout=1)
        assert proc.poll() is None, "stop leaves a process that is not the one it was given"
        procs.stop(proc.pid, "x", start=start, timeout=5)
        assert proc.wait(5) is not None
    finally:
        proc.kill()
    assert procs.start_time(proc.pid) == 0 and not procs.alive(proc.pid)


def test_http_ready_needs_an_answer_not_just_a_connection():
    import socket
    import threading
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]

    def accept_and_close():  # like rootlesskit's port driver when nothing listens inside yet
        conn, _ = s.accept()
        conn.close()

    t = threading.Thread(target=accept_and_close)
    t.start()
    assert not procs.http_ready(port)
    t.join()
    s.close()


def test_url_ready_needs_a_success_status():
    """A proxy that answers 404 for the hub's path (its route not registered yet) is not ready."""
    import http.server
    import threading

    class Server(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/hub/api":
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Server)
    port = server.server_address[1]
    t = threading.Thread(target=server.serve_forever)
    t.start()
    try:
        assert procs.url_ready(f"http://127.0.0.1:{port}/hub/api")
        assert not procs.url_ready(f"http://127.0.0.1:{port}/hub/login"), "a 404 is not ready"
    finally:
        server.shutdown()
        server.server_close()
        t.join()
    assert not procs.url_ready(f"http://127.0.0.1:{port}/hub/api"), "nothing listens"


def test_dockerd_is_its_pidfile_and_its_remembered_start_time(tmp_path, monkeypatch):
    """dockerd writes its own pidfile: a pid in it is our daemon only with the start time we
    remembered for it. A stale pidfile may name a reused pid, even one of a process that has the
    daemon's config on its command line."""
    from dockerlearn.sandbox.lifecycle import Sandbox, State
    monkeypatch.setenv("DOCKERLEARN_HOME", str(tmp_path))
    sb = Sandbox("ident")
    sb.paths.ensure()
    impostor = sleeper("dockerd", "--config-file", sb.dockerd_marker)
    try:
        sb.paths.pidfile.write_text(f"{impostor.pid}\n")
        start = procs.start_time(impostor.pid)
        # A state from before dockerd's start time was kept: the config file alone tells, as it did.
        State().save(sb.paths.state_file)
        assert sb._alive("dockerd") and sb.dockerd_pid() == impostor.pid
        for pid, when, ours in ((impostor.pid, start, True), (impostor.pid, start + 1, False),
                                (impostor.pid + 1, start, False)):
            State(dockerd_pid=pid, dockerd_start=when).save(sb.paths.state_file)
            assert sb._alive("dockerd") is ours, (pid, when)
            assert sb.dockerd_pid() == (impostor.pid if ours else None)
        sb._stop("dockerd")  # the remembered daemon is another process: not this one
        assert impostor.poll() is None
        sb.paths.pidfile.unlink()
        State(dockerd_pid=impostor.pid, dockerd_start=start).save(sb.paths.state_file)
        assert not sb._alive("dockerd"), "no pidfile, no daemon"
    finally:
        impostor.kill()
        impostor.wait()
