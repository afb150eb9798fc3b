#!/usr/bin/env python3
"""25,000 silent sockets against a proxy run under a 1,024-descriptor limit
(issue 13's acceptance; docs/reliability.md). Run by hand from the
repository root after `make build`; needs no backend (the logins it tries
are answered by the proxy: COM_PING). Two worker processes hold the
sockets, from 127.0.0.2-5, so neither the client's descriptor limit nor
one source address's ephemeral ports run out."""
import socket, resource, subprocess, tempfile, time, os, sys
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
if sys.argv[1:] and sys.argv[1] == "worker":
    base = int(sys.argv[2]); n = int(sys.argv[3]); socks = []; failed = 0
    for i in range(n):
        s = socket.socket(); s.setblocking(False)
        s.bind(("127.0.0.%d" % (base + i % 2), 0))
        try: s.connect(("127.0.0.1", 3396))
        except BlockingIOError: pass
        except OSError: failed += 1; s.close(); continue
        socks.append(s)
    print(len(socks), failed, flush=True)
    sys.stdin.read()  # hold until the parent closes stdin
    sys.exit(0)
tmp = tempfile.mkdtemp()
rules = os.path.join(tmp, "rules.yaml")
with open(rules, "w") as f:
    f.write("listen: 127.0.0.1:3396\nusers: [{name: app, password: app}]\nbackend: {user: app, password: app}\n"
            "clusters: {main: {primary: 127.0.0.1:3310}}\nschemas: {shop: {cluster: main}}\nconnect_timeout: 60s\n")
proxy = subprocess.Popen(["prlimit", "--nofile=1024:1024", "bin/shardgate", "-rules", rules],
                         stdout=open(os.path.join(tmp, "proxy.log"), "w"), stderr=subprocess.STDOUT)
time.sleep(1.5)
pid = int(subprocess.check_output(["pgrep", "-f", "shardgate -rules " + rules]).split()[0])
t0 = time.time()
workers = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "worker", str(b), "12500"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for b in (2, 4)]
opened = failed = 0
for w in workers:
    a, b = w.stdout.readline().split(); opened += int(a); failed += int(b)
t_open = time.time() - t0
time.sleep(3)
fds = len(os.listdir("/proc/%d/fd" % pid))
def login():
    r = subprocess.run(["mariadb-admin", "--no-defaults", "-h127.0.0.1", "-P3396", "-uapp", "-papp", "--connect-timeout=2", "ping"], capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().replace("\n", " ")
during = login()
alive_during = proxy.poll() is None
for w in workers: w.stdin.close(); w.wait()
t1 = time.time()
after = login()
print("silent sockets opened: %d (%d failed) in %.1fs against a 1,024-descriptor limit; proxy alive while flooded: %s, its descriptors: %d; login during the flood: %r; login after: %r, %.2fs after the flood stopped" % (opened, failed, t_open, alive_during, fds, during[:90], after[:90], time.time()-t1))
print("proxy alive at the end:", proxy.poll() is None)
proxy.terminate(); proxy.wait()
