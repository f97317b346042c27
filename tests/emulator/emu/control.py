"""Control API under /__emu/ (unsigned, JSON in and out). Documented in ../README.md."""
import json
import os
import threading
import time

from .config import Account, load_account
from .model import ConfigError, Schema
from .protocols import Response, control_error, json_response
from .state import Credential
from .util import parse_time


class ControlError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


def _patched(cur, body, flags, fields):
    """A copy of a credentials source's settings with what body changes: flags as booleans,
    fields as given, credential_lifetime_seconds as lifetime."""
    d = dict(cur)
    d.update({k: bool(body[k]) for k in flags if k in body})
    d.update({k: body[k] for k in fields if k in body})
    if "credential_lifetime_seconds" in body:
        d["lifetime"] = int(body["credential_lifetime_seconds"])
    return d


def _int_param(params, name):
    v = params.get(name)
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ControlError(400, "%s must be an integer" % name)


class Control:
    def __init__(self, state, runtime, server_info):
        self.state = state
        self.runtime = runtime
        self.info = server_info      # dict with "url"
        self.routes = {
            ("GET", "/__emu/"): self.index,
            ("GET", "/__emu/health"): self.health,
            ("GET", "/__emu/stats"): self.stats,
            ("GET", "/__emu/timings"): self.timings_get,
            ("DELETE", "/__emu/timings"): self.timings_delete,
            ("POST", "/__emu/reset"): self.reset,
            ("GET", "/__emu/faults"): self.faults_get,
            ("POST", "/__emu/faults"): self.faults_post,
            ("DELETE", "/__emu/faults"): self.faults_delete,
            ("GET", "/__emu/latency"): self.latency_get,
            ("POST", "/__emu/latency"): self.latency_post,
            ("GET", "/__emu/functions"): self.functions_get,
            ("POST", "/__emu/functions"): self.functions_post,
            ("GET", "/__emu/tagging"): self.tagging_get,
            ("POST", "/__emu/tagging"): self.tagging_post,
            ("GET", "/__emu/credentials"): self.credentials_get,
            ("POST", "/__emu/credentials"): self.credentials_post,
            ("GET", "/__emu/sts"): self.sts_get,
            ("POST", "/__emu/sts"): self.sts_post,
            ("GET", "/__emu/sso"): self.sso_get,
            ("POST", "/__emu/sso"): self.sso_post,
            ("GET", "/__emu/imds"): self.imds_get,
            ("POST", "/__emu/imds"): self.imds_post,
            ("GET", "/__emu/container"): self.container_get,
            ("POST", "/__emu/container"): self.container_post,
            ("POST", "/__emu/schemas"): self.schemas_post,
            ("POST", "/__emu/shutdown"): self.shutdown,
        }

    def handle(self, req):
        route = self.routes.get((req.method, req.path)) or (
            self.routes.get((req.method, req.path + "/")) if req.path == "/__emu" else None)
        if route is None:
            if any(p == req.path for _, p in self.routes):
                return control_error(405, "method %s not allowed on %s" % (req.method, req.path))
            return control_error(404, "no control endpoint %s %s; GET /__emu/ lists them" % (req.method, req.path))
        try:
            body = json.loads(req.body) if req.body.strip() else {}
        except (ValueError, UnicodeDecodeError) as e:
            return control_error(400, "body is not JSON: %s" % e)
        if req.method == "POST" and not isinstance(body, (dict, list)):
            return control_error(400, "body must be a JSON object")
        try:
            out = route(req, body)
        except ControlError as e:
            return control_error(e.status, e.message)
        except (ConfigError, ValueError, TypeError, KeyError) as e:
            return control_error(400, "%s: %s" % (type(e).__name__, e))
        if isinstance(out, Response):
            return out
        return json_response(out)

    # ---- general ------------------------------------------------------------------------------
    def index(self, req, body):
        return {"endpoints": sorted("%s %s" % k for k in self.routes)}

    def health(self, req, body):
        s = self.state
        return {"ok": True, "url": self.info.get("url"), "region": s.region, "account_id": s.account_id,
                "functions": len(s.functions), "handler_threads": self.runtime.pool.size()}

    def stats(self, req, body):
        return self.state.stats.snapshot(recent=_int_param(req.params, "recent"),
                                         since=_int_param(req.params, "since"))

    def timings_get(self, req, body):
        """For every AWS API request answered since the last clear, in order: handling_us, from
        the moment the whole request had been read to the moment the answer was written, and
        reading_us, from the arrival of its request line to the moment it had been read (us), and
        operations, the API operation of each (so that a benchmark can pair them with its calls)."""
        clear = req.params.get("clear") in ("1", "true")
        t = self.state.stats.timings_snapshot(clear=clear)
        return {"count": len(t), "handling_us": [round(h, 1) for h, _, _ in t],
                "reading_us": [round(r, 1) for _, r, _ in t],
                "operations": [op or "Unknown" for _, _, op in t]}

    def timings_delete(self, req, body):
        self.state.stats.timings_snapshot(clear=True)
        return {"ok": True}

    def reset(self, req, body):
        s = self.state
        if body.get("reload"):
            if not s.account_path:
                raise ControlError(400, "no account file to reload")
            account = load_account(s.account_path)
            s.load(account)
            self.runtime.loader.reload()
        s.stats.reset()
        s.faults.clear()
        s.reset_knobs()
        s.creds.global_max_lifetime = None
        return {"ok": True, "reloaded": bool(body.get("reload"))}

    def shutdown(self, req, body):
        def bye():
            time.sleep(0.1)
            os._exit(0)
        threading.Thread(target=bye, daemon=True).start()
        return {"ok": True}

    # ---- faults and latency -------------------------------------------------------------------
    def faults_get(self, req, body):
        return {"faults": self.state.faults.list()}

    def faults_post(self, req, body):
        ft = self.state.faults
        if isinstance(body, dict) and body.get("clear"):
            ft.clear()
            return {"faults": []}
        if isinstance(body, dict) and "seed" in body and len(body) == 1:
            ft.seed(body["seed"])
            return {"faults": ft.list()}
        if isinstance(body, dict) and "remove" in body:
            return {"removed": ft.remove(body["remove"]), "faults": ft.list()}
        specs = body if isinstance(body, list) else body.get("faults", [body]) if isinstance(body, dict) else []
        if isinstance(body, dict) and "seed" in body:
            ft.seed(body.pop("seed"))
        added = [ft.add(spec).public() for spec in specs]
        return {"added": added, "faults": ft.list()}

    def faults_delete(self, req, body):
        self.state.faults.clear()
        return {"faults": []}

    def latency_get(self, req, body):
        s = self.state
        return {"ms": s.latency_ms, "operations": dict(s.operation_latency_ms)}

    def latency_post(self, req, body):
        s = self.state
        with s.lock:
            if body.get("reset"):
                s.latency_ms = 0.0
                s.operation_latency_ms = {}
            if "operation" in body:
                ops = dict(s.operation_latency_ms)
                ms = float(body.get("ms", 0))
                if ms > 0:
                    ops[str(body["operation"])] = ms
                else:
                    ops.pop(str(body["operation"]), None)
                s.operation_latency_ms = ops
            elif "ms" in body:
                s.latency_ms = float(body["ms"])
            if "operations" in body:
                ops = dict(s.operation_latency_ms)
                for op, ms in body["operations"].items():
                    if float(ms) > 0:
                        ops[str(op)] = float(ms)
                    else:
                        ops.pop(str(op), None)
                s.operation_latency_ms = ops
        return self.latency_get(req, body)

    # ---- functions ----------------------------------------------------------------------------
    def functions_get(self, req, body):
        s = self.state
        return {"functions": [{"name": n, "handler": s.functions[n].handler, "tags": s.functions[n].tags,
                               "description": s.functions[n].description}
                              for n in s.sorted_names if n in s.functions]}

    def functions_post(self, req, body):
        s = self.state
        changed = {"put": [], "removed": [], "tagged": []}
        puts = body.get("put") or []
        if puts:
            acct = s.account
            tmp = Account({"region": s.region, "account_id": s.account_id, "functions": puts,
                           "function_defaults": acct.function_defaults}, acct.functions_dir)
            for rname, reg in tmp.registries.items():
                with s.lock:
                    dst = s.registries.setdefault(rname, {"description": reg["description"], "schemas": {}})
                    dst["schemas"] = dict(dst["schemas"], **reg["schemas"])
            for fn in tmp.functions.values():
                s.put_function(fn)
                changed["put"].append(fn.name)
            if body.get("reload_code"):
                for fn in tmp.functions.values():
                    self.runtime.loader.reload(fn.module)
        for name in body.get("remove") or []:
            if s.remove_function(name):
                changed["removed"].append(name)
        for key in ("set_tags", "add_tags", "remove_tags"):
            for name, tags in (body.get(key) or {}).items():
                fn = s.functions.get(name)
                if fn is None:
                    raise ControlError(404, "no function %r" % name)
                if key == "set_tags":
                    new = dict(tags)
                elif key == "add_tags":
                    new = dict(fn.tags, **tags)
                else:
                    new = {k: v for k, v in fn.tags.items() if k not in set(tags)}
                for k, v in new.items():
                    if not isinstance(k, str) or not isinstance(v, str):
                        raise ControlError(400, "tags must map strings to strings")
                s.put_function(fn.with_tags(new))
                changed["tagged"].append(name)
        changed["count"] = len(s.functions)
        return changed

    def tagging_get(self, req, body):
        return {"deny": self.state.tagging_deny, "list_tags_deny": self.state.list_tags_deny}

    def tagging_post(self, req, body):
        if "deny" in body:
            self.state.tagging_deny = bool(body["deny"])
        if "list_tags_deny" in body:
            self.state.list_tags_deny = bool(body["list_tags_deny"])
        return self.tagging_get(req, body)

    def schemas_post(self, req, body):
        s = self.state
        out = {"put": [], "removed": []}
        for spec in body.get("put") or []:
            spec = dict(spec)
            registry = spec.pop("registry", None)
            if not registry:
                raise ControlError(400, "each schema needs a registry")
            schema = Schema(registry, spec, s.region, s.account_id, time.time())
            with s.lock:
                reg = s.registries.setdefault(registry, {"description": None, "schemas": {}})
                reg["schemas"] = dict(reg["schemas"], **{schema.name: schema})
            out["put"].append(schema.arn)
        for spec in body.get("remove") or []:
            with s.lock:
                reg = s.registries.get(spec.get("registry"))
                if reg and spec.get("name") in reg["schemas"]:
                    reg["schemas"] = {k: v for k, v in reg["schemas"].items() if k != spec["name"]}
                    out["removed"].append(spec["name"])
        return out

    # ---- credentials and issuers ---------------------------------------------------------------
    def credentials_get(self, req, body):
        s = self.state
        return {"max_lifetime_seconds": s.creds.global_max_lifetime,
                "credentials": [c.public() for c in s.creds.all()]}

    def credentials_post(self, req, body):
        s = self.state
        out = {}
        if "max_lifetime_seconds" in body:
            v = body["max_lifetime_seconds"]
            s.creds.global_max_lifetime = None if v is None else float(v)
            out["max_lifetime_seconds"] = s.creds.global_max_lifetime
        if "issue" in body:
            spec = body["issue"] or {}
            lifetime = float(spec.get("lifetime_seconds", 3600))
            role_arn = spec.get("role_arn")
            arn = spec.get("arn") or (
                "arn:aws:sts::%s:assumed-role/%s/emulator" % (s.account_id, role_arn.rsplit("/", 1)[-1])
                if role_arn else "arn:aws:iam::%s:user/emulator-issued" % s.account_id)
            cred = s.creds.issue(lifetime, arn, "control", role_arn=role_arn)
            out["issued"] = cred.public()
        if "add" in body:
            spec = body["add"]
            if not spec.get("access_key_id") or not spec.get("secret_access_key"):
                raise ControlError(400, "add needs access_key_id and secret_access_key")
            cred = Credential(spec["access_key_id"], spec["secret_access_key"], spec.get("session_token"),
                              parse_time(spec.get("expiration"), "expiration"),
                              spec.get("arn") or "arn:aws:iam::%s:user/%s" % (s.account_id, spec["access_key_id"]),
                              "control", spec.get("role_arn"))
            s.creds.add(cred)
            out["added"] = cred.public()
        if "remove" in body:
            out["removed"] = s.creds.remove(body["remove"]) is not None
        if "expire" in body:
            out["expired"] = s.creds.expire(body["expire"])
        return out

    def sts_get(self, req, body):
        s = self.state
        return {"max_lifetime_seconds": s.sts_max_lifetime,
                "roles": [dict(r, web_identity_tokens=sorted(r["web_identity_tokens"])) for r in s.roles.values()]}

    def sts_post(self, req, body):
        s = self.state
        if "max_lifetime_seconds" in body:
            v = body["max_lifetime_seconds"]
            s.sts_max_lifetime = None if v is None else int(v)
        if "put_roles" in body or "put_role" in body:
            specs = body.get("put_roles") or [body.get("put_role")]
            tmp = Account({"region": s.region, "account_id": s.account_id, "roles": specs})
            with s.lock:
                s.roles = dict(s.roles, **tmp.roles)
        if "remove_role" in body:
            with s.lock:
                s.roles = {k: v for k, v in s.roles.items() if k != body["remove_role"]}
        return self.sts_get(req, body)

    def sso_get(self, req, body):
        s = self.state
        return {
            "role_credential_lifetime_seconds": s.sso_role_lifetime,
            "access_tokens": {t: {"expires": v["expires"], "roles": sorted(v["roles"])}
                              for t, v in s.sso_access_tokens.items()},
            "refresh_tokens": sorted(s.sso_refresh_tokens),
        }

    def sso_post(self, req, body):
        s = self.state
        out = {}
        with s.lock:
            if "role_credential_lifetime_seconds" in body:
                s.sso_role_lifetime = int(body["role_credential_lifetime_seconds"])
            if "add_access_token" in body:
                spec = body["add_access_token"]
                tmp = Account({"account_id": s.account_id, "region": s.region,
                               "sso": {"access_tokens": [{"token": spec["token"], "roles": spec.get("roles", []),
                                                          "expires": spec.get("expires")}]}})
                info = tmp.sso_access_tokens[spec["token"]]
                if spec.get("expires_in") is not None:
                    info["expires"] = time.time() + float(spec["expires_in"])
                s.sso_access_tokens[spec["token"]] = info
                out["added"] = spec["token"]
            if "expire_access_token" in body:
                tok = body["expire_access_token"]
                if tok in s.sso_access_tokens:
                    s.sso_access_tokens[tok] = dict(s.sso_access_tokens[tok], expires=time.time() - 1)
                    out["expired"] = True
                else:
                    out["expired"] = False
            if "remove_access_token" in body:
                out["removed"] = s.sso_access_tokens.pop(body["remove_access_token"], None) is not None
            if "add_refresh_token" in body:
                spec = body["add_refresh_token"]
                tmp = Account({"account_id": s.account_id, "region": s.region, "sso": {"refresh_tokens": [spec]}})
                s.sso_refresh_tokens.update(tmp.sso_refresh_tokens)
                out["added_refresh_token"] = spec["token"]
            if "revoke_refresh_token" in body:
                out["revoked"] = s.sso_refresh_tokens.pop(body["revoke_refresh_token"], None) is not None
            if "add_client" in body:
                c = body["add_client"]
                s.sso_clients[str(c["client_id"])] = str(c["client_secret"])
        out.update(self.sso_get(req, body))
        return out

    def imds_get(self, req, body):
        s = self.state
        cur = s.imds_cred
        return dict(s.imds, tokens=len(s.imds_tokens),
                    current_access_key_id=cur.access_key_id if cur else None,
                    counters=dict(s.stats.imds))

    def imds_post(self, req, body):
        s = self.state
        with s.lock:
            s.imds = _patched(s.imds, body, ("enabled", "allow_v1"),
                              ("role", "instance_id", "availability_zone", "instance_type"))
            self._rotate_or_expire(body, "imds_cred")
            if body.get("expire_tokens"):
                s.imds_tokens = {}
        return self.imds_get(req, body)

    def _rotate_or_expire(self, body, attr):
        """rotate: the next fetch gets new credentials; expire_credentials: the current ones stop
        working now (caller holds the lock)."""
        s = self.state
        if body.get("rotate"):
            setattr(s, attr, None)
        cur = getattr(s, attr)
        if body.get("expire_credentials") and cur is not None:
            s.creds.expire(cur.access_key_id)

    def container_get(self, req, body):
        s = self.state
        cur = s.container_cred
        return dict(s.container, current_access_key_id=cur.access_key_id if cur else None)

    def container_post(self, req, body):
        s = self.state
        with s.lock:
            s.container = _patched(s.container, body, ("enabled", "any_path"),
                                   ("paths", "authorization_token", "role_arn"))
            self._rotate_or_expire(body, "container_cred")
        return self.container_get(req, body)
