"""What bench/invoke, bench/ab and bench/instructions share: the server's conf and environment,
the C helpers (stdio-client.c, lambda-stub.c) and starting the stub. Imported by those scripts
(their directory is on sys.path when they run); not a benchmark itself."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
AK, SK = "AKIAEMULATORDEMO0001", "emulatorDemoSecretKey/0000000000000000001"
ECHO_ARGS = '{"message":"hello","n":1}'

# credentials from the environment, the two functions of the bench account (and of the stub)
BASE_CONF = ('server = { log_level = "warn"; max_inflight = 64; };\n'
             'credentials = ( { plugin = "env"; } );\n'
             'discovery = { plugins = ( { plugin = "list"; functions = [ "echo", "sleep-100ms" ]; } ); };\n')


def pct(values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it
    (rank ceil(p * n / 100), in integers: 0.99 * 500 is 495.00000000000006 in floating point)."""
    if not values:
        return float("nan")
    s = sorted(values)
    num, den = (p, 100) if float(p).is_integer() else (round(p * 1000), 100000)
    rank = -(-int(num) * len(s) // den)
    return s[max(1, min(len(s), rank)) - 1]


# the cache wrapper, with echo cacheable: every call after the first is a hit
CACHE_WRAPPERS = ('wrappers = ( { plugin = "cache"; ttl = "1h"; '
                  'overrides = ( { tools = "echo"; cacheable = true; } ); } );\n')


def compile_helpers(tmp, names=("stdio-client", "lambda-stub")):
    """Build the C helpers into tmp with $CC (default cc); {name: path}."""
    cc = os.environ.get("CC", "cc")
    out = {}
    for name in names:
        out[name] = os.path.join(tmp, name)
        subprocess.run([cc, "-O2", "-std=c11", "-Wall", "-o", out[name], os.path.join(HERE, name + ".c")], check=True)
    return out


def start_stub(path):
    """Start bench/lambda-stub.c's binary: (process, its URL). RuntimeError when it does not start."""
    proc = subprocess.Popen([path], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = proc.stdout.readline().decode().split()
    if len(line) != 2 or line[0] != "STUB_READY":
        proc.kill()
        proc.wait(10)
        raise RuntimeError("lambda-stub did not start: %r" % line)
    return proc, line[1]


def server_env(home, endpoint):
    """The server's environment: a few variables of ours, the demo credentials, AWS at endpoint,
    no instance metadata, AWS config files (absent) under home."""
    os.makedirs(os.path.join(home, ".aws"), exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    env.update({"HOME": home, "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.path.join(home, ".aws", "config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, ".aws", "credentials")})
    return env
