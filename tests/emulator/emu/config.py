"""Loading and validating the account file (format documented in ../README.md)."""
import json
import os
import re
import time

from .model import ConfigError, Function, Schema, default_schema_content, SCHEMA_TYPES
from .util import parse_time

TOP_KEYS = {
    "$comment", "region", "additional_regions", "account_id", "credentials", "function_defaults",
    "functions", "schemas", "roles", "sts", "sso", "imds", "container", "tagging",
    "latency_ms", "operation_latency_ms", "stats",
}
GENERATOR_KEYS = {
    "count", "start", "name", "handler", "description", "runtime", "timeout", "memory",
    "tags", "tag_every", "always_tags", "schema_every", "schema", "versions", "aliases",
    "environment",
}
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
ACCOUNT_RE = re.compile(r"^\d{12}$")

FUNCTIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "functions")


def _obj(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("%s must be an object" % where)
    return value


def _keys(d, allowed, where):
    unknown = set(d) - set(allowed) - {"$comment"}
    if unknown:
        raise ConfigError("%s: unknown keys %s" % (where, sorted(unknown)))


def _time(value, where):
    try:
        return parse_time(value, where)
    except ValueError as e:
        raise ConfigError(str(e))


def _pos_int(value, where, default=None, lo=1, hi=10 ** 9):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError("%s must be an integer" % where)
    if not lo <= int(value) <= hi:
        raise ConfigError("%s must be in %d..%d" % (where, lo, hi))
    return int(value)


class Account:
    """Everything the account file says, validated. State copies the mutable parts."""

    def __init__(self, data, functions_dir=FUNCTIONS_DIR):
        if not isinstance(data, dict):
            raise ConfigError("the account file must hold a JSON object")
        _keys(data, TOP_KEYS, "account")
        now = time.time()
        self.functions_dir = functions_dir
        self.region = data.get("region", "us-east-1")
        if not isinstance(self.region, str) or not REGION_RE.match(self.region):
            raise ConfigError("region %r is not a region name" % (self.region,))
        self.additional_regions = list(data.get("additional_regions") or [])
        self.account_id = str(data.get("account_id", "123456789012"))
        if not ACCOUNT_RE.match(self.account_id):
            raise ConfigError("account_id must be 12 digits")

        # ---- static credentials ----
        self.credentials = []
        seen = set()
        for n, c in enumerate(data.get("credentials") or []):
            where = "credentials[%d]" % n
            _keys(_obj(c, where), {"access_key_id", "secret_access_key", "session_token", "arn",
                                   "expiration"}, where)
            akid, secret = c.get("access_key_id"), c.get("secret_access_key")
            if not isinstance(akid, str) or not akid or not isinstance(secret, str) or not secret:
                raise ConfigError("%s: access_key_id and secret_access_key are required" % where)
            if akid in seen:
                raise ConfigError("%s: duplicate access_key_id %s" % (where, akid))
            seen.add(akid)
            self.credentials.append({
                "access_key_id": akid,
                "secret_access_key": secret,
                "session_token": c.get("session_token") or None,
                "arn": c.get("arn") or "arn:aws:iam::%s:user/emulator-user-%d" % (self.account_id, n + 1),
                "expiration": _time(c.get("expiration"), where + ".expiration"),
            })

        # ---- schemas (before functions: generators may add schemas) ----
        self.registries = {}   # name -> {"description", "tags", "schemas": {name: Schema}}
        sch = _obj(data.get("schemas"), "schemas")
        _keys(sch, {"registries"}, "schemas")
        for n, r in enumerate(sch.get("registries") or []):
            where = "schemas.registries[%d]" % n
            _keys(_obj(r, where), {"name", "description", "tags", "schemas"}, where)
            rname = r.get("name")
            if not isinstance(rname, str) or not rname:
                raise ConfigError("%s: name is required" % where)
            reg = self._registry(rname)
            reg["description"] = r.get("description")
            for s in r.get("schemas") or []:
                schema = Schema(rname, _obj(s, where + ".schemas[]"), self.region, self.account_id, now)
                reg["schemas"][schema.name] = schema

        # ---- functions ----
        self.function_defaults = _obj(data.get("function_defaults"), "function_defaults")
        self.functions = {}
        for n, f in enumerate(data.get("functions") or []):
            if isinstance(f, dict) and "generate" in f:
                self._generate(_obj(f["generate"], "functions[%d].generate" % n), now)
                continue
            fn = Function(_obj(f, "functions[%d]" % n), self.region, self.account_id, functions_dir,
                          self.function_defaults, now)
            self._add_function(fn)

        # ---- roles for STS ----
        self.roles = {}
        for n, r in enumerate(data.get("roles") or []):
            where = "roles[%d]" % n
            _keys(_obj(r, where), {"arn", "name", "trusted_access_keys", "trusted_roles", "external_id",
                                   "max_session_duration", "web_identity_tokens"}, where)
            arn = r.get("arn") or (r.get("name") and "arn:aws:iam::%s:role/%s" % (self.account_id, r["name"]))
            if not isinstance(arn, str) or ":role/" not in arn:
                raise ConfigError("%s: arn (or name) of an IAM role is required" % where)
            tokens = {}
            for t in r.get("web_identity_tokens") or []:
                if isinstance(t, str):
                    t = {"token": t}
                t = _obj(t, where + ".web_identity_tokens[]")
                _keys(t, {"token", "subject", "audience", "provider", "expires"}, where + ".web_identity_tokens[]")
                if not isinstance(t.get("token"), str) or not t["token"]:
                    raise ConfigError("%s: web identity token must be a non-empty string" % where)
                tokens[t["token"].strip()] = {
                    "subject": t.get("subject", "system:serviceaccount:default:lambda-mcp"),
                    "audience": t.get("audience", "sts.amazonaws.com"),
                    "provider": t.get("provider", "oidc.emulator.local"),
                    "expires": _time(t.get("expires"), where + ".expires"),
                }
            self.roles[arn] = {
                "arn": arn,
                "trusted_access_keys": list(r.get("trusted_access_keys") or []),
                "trusted_roles": list(r.get("trusted_roles") or []),
                "external_id": r.get("external_id"),
                "max_session_duration": _pos_int(r.get("max_session_duration"), where + ".max_session_duration",
                                                 3600, 3600, 43200),
                "web_identity_tokens": tokens,
            }

        sts = _obj(data.get("sts"), "sts")
        _keys(sts, {"max_lifetime_seconds"}, "sts")
        self.sts_max_lifetime = _pos_int(sts.get("max_lifetime_seconds"), "sts.max_lifetime_seconds")

        # ---- SSO portal + OIDC ----
        sso = _obj(data.get("sso"), "sso")
        _keys(sso, {"role_credential_lifetime_seconds", "access_tokens", "clients", "refresh_tokens"}, "sso")
        self.sso_role_lifetime = _pos_int(sso.get("role_credential_lifetime_seconds"),
                                          "sso.role_credential_lifetime_seconds", 3600)
        self.sso_access_tokens = {}
        for n, t in enumerate(sso.get("access_tokens") or []):
            where = "sso.access_tokens[%d]" % n
            _keys(_obj(t, where), {"token", "expires", "roles"}, where)
            if not isinstance(t.get("token"), str) or not t["token"]:
                raise ConfigError("%s: token is required" % where)
            self.sso_access_tokens[t["token"]] = {"expires": _time(t.get("expires"), where + ".expires"),
                                                  "roles": self._sso_roles(t.get("roles"), where)}
        self.sso_clients = {}
        for n, c in enumerate(sso.get("clients") or []):
            where = "sso.clients[%d]" % n
            _keys(_obj(c, where), {"client_id", "client_secret"}, where)
            self.sso_clients[str(c.get("client_id"))] = str(c.get("client_secret"))
        self.sso_refresh_tokens = {}
        for n, t in enumerate(sso.get("refresh_tokens") or []):
            where = "sso.refresh_tokens[%d]" % n
            _keys(_obj(t, where), {"token", "client_id", "roles", "access_token_lifetime_seconds"}, where)
            if not isinstance(t.get("token"), str) or not t["token"]:
                raise ConfigError("%s: token is required" % where)
            self.sso_refresh_tokens[t["token"]] = {
                "client_id": t.get("client_id"),
                "roles": self._sso_roles(t.get("roles"), where),
                "lifetime": _pos_int(t.get("access_token_lifetime_seconds"), where + ".access_token_lifetime_seconds",
                                     3600),
            }

        # ---- IMDS ----
        imds = _obj(data.get("imds"), "imds")
        _keys(imds, {"enabled", "role", "allow_v1", "credential_lifetime_seconds", "instance_id",
                     "availability_zone", "instance_type"}, "imds")
        self.imds = {
            "enabled": bool(imds.get("enabled", True)),
            "role": imds.get("role", "lambda-mcp-emulator-instance-role"),
            "allow_v1": bool(imds.get("allow_v1", False)),
            "lifetime": _pos_int(imds.get("credential_lifetime_seconds"), "imds.credential_lifetime_seconds", 21600),
            "instance_id": imds.get("instance_id", "i-0123456789abcdef0"),
            "availability_zone": imds.get("availability_zone", self.region + "a"),
            "instance_type": imds.get("instance_type", "t3.micro"),
        }

        # ---- container credentials ----
        cont = _obj(data.get("container"), "container")
        _keys(cont, {"enabled", "paths", "authorization_token", "any_path", "role_arn",
                     "credential_lifetime_seconds"}, "container")
        self.container = {
            "enabled": bool(cont.get("enabled", True)),
            "paths": list(cont.get("paths") or ["/v2/credentials/"]),
            "authorization_token": cont.get("authorization_token"),
            "any_path": bool(cont.get("any_path", False)),
            "role_arn": cont.get("role_arn", "arn:aws:iam::%s:role/lambda-mcp-emulator-task-role" % self.account_id),
            "lifetime": _pos_int(cont.get("credential_lifetime_seconds"), "container.credential_lifetime_seconds",
                                 21600),
        }

        tagging = _obj(data.get("tagging"), "tagging")
        _keys(tagging, {"deny", "list_tags_deny"}, "tagging")
        self.tagging_deny = bool(tagging.get("deny", False))
        self.list_tags_deny = bool(tagging.get("list_tags_deny", False))

        self.latency_ms = float(data.get("latency_ms") or 0)
        self.operation_latency_ms = {str(k): float(v) for k, v in
                                     _obj(data.get("operation_latency_ms"), "operation_latency_ms").items()}
        stats = _obj(data.get("stats"), "stats")
        _keys(stats, {"recent_limit"}, "stats")
        self.recent_limit = _pos_int(stats.get("recent_limit"), "stats.recent_limit", 1000, 1, 1000000)

    # ---- helpers ----------------------------------------------------------------------------
    def _registry(self, name):
        reg = self.registries.get(name)
        if reg is None:
            reg = {"description": None, "schemas": {}}
            self.registries[name] = reg
        return reg

    def _add_function(self, fn):
        if fn.name in self.functions:
            raise ConfigError("duplicate function name %r" % fn.name)
        self.functions[fn.name] = fn

    def _sso_roles(self, roles, where):
        out = set()
        for r in roles or []:
            r = _obj(r, where + ".roles[]")
            _keys(r, {"account_id", "role_name"}, where + ".roles[]")
            out.add((str(r.get("account_id", self.account_id)), str(r.get("role_name"))))
        return out

    def _generate(self, g, now):
        _keys(g, GENERATOR_KEYS, "generate")
        count = _pos_int(g.get("count"), "generate.count", None, 0, 100000)
        if count is None:
            raise ConfigError("generate.count is required")
        start = _pos_int(g.get("start"), "generate.start", 1, 0, 10 ** 9)
        name_fmt = g.get("name", "fn-{i:04d}")
        tag_every = _pos_int(g.get("tag_every"), "generate.tag_every", 1)
        schema_every = _pos_int(g.get("schema_every"), "generate.schema_every", 0, 0)
        schema = _obj(g.get("schema"), "generate.schema")
        _keys(schema, {"tag_key", "registry", "type", "name", "content", "description"}, "generate.schema")
        types = schema.get("type", "JSONSchemaDraft4")
        types = types if isinstance(types, list) else [types]
        for t in types:
            if t not in SCHEMA_TYPES:
                raise ConfigError("generate.schema.type must be one of %s" % ", ".join(SCHEMA_TYPES))
        tag_key = schema.get("tag_key", "lambda-mcp:input-schema")
        registry = schema.get("registry", "lambda-mcp")
        schema_name_fmt = schema.get("name", "{name}-input")
        n_schema = 0
        base = {k: g[k] for k in ("handler", "runtime", "timeout", "memory", "versions", "aliases",
                                  "environment") if k in g}
        try:
            for i in range(start, start + count):
                name = name_fmt.format(i=i)
                fmt = {"i": i, "name": name}
                spec = dict(base, name=name)
                if "description" in g:
                    spec["description"] = g["description"].format(**fmt)
                tags = {k.format(**fmt): v.format(**fmt) for k, v in (g.get("always_tags") or {}).items()}
                if g.get("tags") and i % tag_every == 0:
                    tags.update({k.format(**fmt): v.format(**fmt) for k, v in g["tags"].items()})
                if schema_every and i % schema_every == 0:
                    stype = types[n_schema % len(types)]
                    n_schema += 1
                    sname = schema_name_fmt.format(**fmt)
                    content = schema.get("content")
                    sc = Schema(registry, {
                        "name": sname, "type": stype,
                        "description": schema.get("description", "Input schema for {name}").format(**fmt),
                        "content": content if content is not None else default_schema_content(stype, sname),
                    }, self.region, self.account_id, now)
                    self._registry(registry)["schemas"][sname] = sc
                    tags[tag_key] = sc.arn
                spec["tags"] = tags
                self._add_function(Function(spec, self.region, self.account_id, self.functions_dir,
                                            self.function_defaults, now))
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError("generate: bad format string: %s" % e)


def load_account(path, functions_dir=FUNCTIONS_DIR):
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError("cannot read account file %s: %s" % (path, e))
    except json.JSONDecodeError as e:
        raise ConfigError("account file %s is not valid JSON: %s" % (path, e))
    return Account(data, functions_dir)
