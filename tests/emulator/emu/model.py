"""In-memory model of the emulated account: Lambda functions and EventBridge schemas.

Objects here are immutable once built; runtime changes (control API) replace a Function
with a new instance so readers never see a half-updated one.
"""
import base64
import hashlib
import json
import os
import re
import time
import uuid

from .util import lambda_ts

FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
VERSION_RE = re.compile(r"^[0-9]+$")
ALIAS_RE = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

SCHEMA_TYPES = ("JSONSchemaDraft4", "OpenApi3")

FUNCTION_KEYS = {
    "name", "handler", "description", "runtime", "timeout", "memory", "memory_size", "tags",
    "environment", "versions", "aliases", "role", "architecture", "last_modified",
}


class ConfigError(Exception):
    pass


class CodeInfo:
    """Size and hash of a handler module file (what Lambda reports as CodeSize/CodeSha256)."""

    _cache = {}

    @classmethod
    def for_module(cls, functions_dir, module):
        path = os.path.join(functions_dir, module + ".py")
        try:
            st = os.stat(path)
        except OSError:
            raise ConfigError("handler module %r: no file %s" % (module, path))
        key = (path, st.st_mtime_ns, st.st_size)
        hit = cls._cache.get(key)
        if hit is not None:
            return hit
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            raise ConfigError("handler module %r: no file %s" % (module, path))
        info = (len(data), base64.b64encode(hashlib.sha256(data).digest()).decode("ascii"), path)
        cls._cache[key] = info
        return info


def _check_tags(tags, where):
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise ConfigError("%s: tags must be an object of string values" % where)
    out = {}
    for k, v in tags.items():
        if not isinstance(k, str) or not (1 <= len(k) <= 128):
            raise ConfigError("%s: tag key %r must be a string of 1..128 chars" % (where, k))
        if not isinstance(v, str) or len(v) > 256:
            raise ConfigError("%s: tag %r must have a string value of at most 256 chars" % (where, k))
        out[k] = v
    return out


def _int(value, where, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ConfigError("%s must be an integer" % where)
    value = int(value)
    if not lo <= value <= hi:
        raise ConfigError("%s must be in %d..%d" % (where, lo, hi))
    return value


class Function:
    """One Lambda function with its published versions and aliases."""

    def __init__(self, spec, region, account_id, functions_dir, defaults=None, now=None):
        where = "function %r" % spec.get("name")
        if not isinstance(spec, dict):
            raise ConfigError("a function must be an object")
        unknown = set(spec) - FUNCTION_KEYS
        if unknown:
            raise ConfigError("%s: unknown keys %s" % (where, sorted(unknown)))
        merged = dict(defaults or {})
        merged.update(spec)
        spec = merged

        name = spec.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME_RE.match(name):
            raise ConfigError("function name %r must match [A-Za-z0-9_-]{1,64}" % (name,))
        self.name = name
        self.region = region
        self.account_id = account_id

        handler = spec.get("handler")
        if not isinstance(handler, str) or not handler:
            raise ConfigError("%s: handler (a module in functions/) is required" % where)
        module, _, attr = handler.partition(".")
        attr = attr or "handler"
        if not MODULE_RE.match(module) or not MODULE_RE.match(attr):
            raise ConfigError("%s: handler %r must be 'module' or 'module.function'" % (where, handler))
        self.module = module
        self.attr = attr
        self.handler = module + "." + attr
        self.code_size, self.code_sha256, self.code_path = CodeInfo.for_module(functions_dir, module)

        desc = spec.get("description", "")
        if desc is None:
            desc = ""
        if not isinstance(desc, str) or len(desc) > 256:
            raise ConfigError("%s: description must be a string of at most 256 chars" % where)
        self.description = desc
        self.runtime = spec.get("runtime", "python3.12")
        if not isinstance(self.runtime, str):
            raise ConfigError("%s: runtime must be a string" % where)
        self.timeout = _int(spec.get("timeout", 3), where + ": timeout", 1, 900)
        self.memory = _int(spec.get("memory", spec.get("memory_size", 128)), where + ": memory", 128, 10240)
        self.tags = _check_tags(spec.get("tags"), where)
        env = spec.get("environment")
        if env is not None and (not isinstance(env, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
            raise ConfigError("%s: environment must be an object of string values" % where)
        self.environment = env
        self.role = spec.get("role") or "arn:aws:iam::%s:role/lambda-mcp-emulator-role" % account_id
        arch = spec.get("architecture", "x86_64")
        if arch not in ("x86_64", "arm64"):
            raise ConfigError("%s: architecture must be x86_64 or arm64" % where)
        self.architecture = arch
        now = time.time() if now is None else now
        lm = spec.get("last_modified")
        if lm is not None:
            from .util import parse_time
            try:
                now = parse_time(lm, where + ": last_modified")
            except ValueError as e:
                raise ConfigError(str(e))
        self.last_modified = now
        self.revision_id = str(uuid.uuid4())

        # versions: ["1", "2"] | 3 (=> 1..3) | {"1": {"description": "..."}}
        versions = spec.get("versions") or []
        if isinstance(versions, int) and not isinstance(versions, bool):
            versions = [str(i) for i in range(1, versions + 1)]
        vmap = {}
        if isinstance(versions, list):
            for v in versions:
                vmap[str(v)] = {}
        elif isinstance(versions, dict):
            for v, vs in versions.items():
                vmap[str(v)] = dict(vs or {})
        else:
            raise ConfigError("%s: versions must be a list, a count or an object" % where)
        for v, vs in vmap.items():
            if not VERSION_RE.match(v) or v == "0":
                raise ConfigError("%s: version %r must be a positive integer" % (where, v))
            extra = set(vs) - {"description"}
            if extra:
                raise ConfigError("%s: version %s: unknown keys %s" % (where, v, sorted(extra)))
        self.versions = dict(sorted(vmap.items(), key=lambda kv: int(kv[0])))

        aliases = spec.get("aliases") or {}
        if not isinstance(aliases, dict):
            raise ConfigError("%s: aliases must be an object {alias: version}" % where)
        self.aliases = {}
        for alias, target in aliases.items():
            target = str(target)
            if not ALIAS_RE.match(alias) or alias == "$LATEST":
                raise ConfigError("%s: bad alias name %r" % (where, alias))
            if target != "$LATEST" and target not in self.versions:
                raise ConfigError("%s: alias %r points to unknown version %r" % (where, alias, target))
            self.aliases[alias] = target
        self._config_cache = {}

    # ---- identity ---------------------------------------------------------------------
    def arn(self, qualifier=None):
        base = "arn:aws:lambda:%s:%s:function:%s" % (self.region, self.account_id, self.name)
        return base + ":" + qualifier if qualifier else base

    def resolve(self, qualifier):
        """Qualifier (None, $LATEST, version, alias) -> executed version, or None if unknown."""
        if qualifier is None or qualifier == "$LATEST":
            return "$LATEST"
        if qualifier in self.versions:
            return qualifier
        return self.aliases.get(qualifier)

    def with_tags(self, tags):
        """A copy with different tags (used by the control API)."""
        clone = object.__new__(Function)
        clone.__dict__.update(self.__dict__)
        clone.tags = dict(tags)
        clone._config_cache = {}
        clone.revision_id = str(uuid.uuid4())
        return clone

    # ---- wire shapes ---------------------------------------------------------------------
    def configuration(self, version="$LATEST", arn_qualifier=None):
        """FunctionConfiguration (lambda 2015-03-31) for a version; cached."""
        key = (version, arn_qualifier)
        hit = self._config_cache.get(key)
        if hit is not None:
            return hit
        desc = self.description
        if version != "$LATEST":
            desc = self.versions.get(version, {}).get("description", desc)
        cfg = {
            "FunctionName": self.name,
            "FunctionArn": self.arn(arn_qualifier if arn_qualifier else
                                    (version if version != "$LATEST" else None)),
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": desc,
            "Timeout": self.timeout,
            "MemorySize": self.memory,
            "LastModified": lambda_ts(self.last_modified),
            "CodeSha256": self.code_sha256,
            "Version": version,
        }
        if self.environment is not None:
            cfg["Environment"] = {"Variables": dict(self.environment)}
        cfg.update({
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [self.architecture],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": "/aws/lambda/" + self.name},
        })
        self._config_cache[key] = cfg
        return cfg

    def configuration_json(self, version="$LATEST"):
        key = ("json", version)
        hit = self._config_cache.get(key)
        if hit is None:
            hit = json.dumps(self.configuration(version), separators=(",", ":"))
            self._config_cache[key] = hit
        return hit


class Schema:
    def __init__(self, registry, spec, region, account_id, now):
        where = "schema %r in registry %r" % (spec.get("name"), registry)
        unknown = set(spec) - {"name", "type", "description", "tags", "versions", "content"}
        if unknown:
            raise ConfigError("%s: unknown keys %s" % (where, sorted(unknown)))
        name = spec.get("name")
        if not isinstance(name, str) or not re.match(r"^[\.\-_A-Za-z@0-9]{1,385}$", name):
            raise ConfigError("%s: bad schema name" % where)
        self.registry = registry
        self.name = name
        self.type = spec.get("type", "JSONSchemaDraft4")
        if self.type not in SCHEMA_TYPES:
            raise ConfigError("%s: type must be one of %s" % (where, ", ".join(SCHEMA_TYPES)))
        self.description = spec.get("description")
        self.tags = _check_tags(spec.get("tags"), where)
        self.arn = "arn:aws:schemas:%s:%s:schema/%s/%s" % (region, account_id, registry, name)
        versions = spec.get("versions")
        if versions is None:
            if "content" not in spec:
                raise ConfigError("%s: give content or versions" % where)
            versions = [{"content": spec["content"]}]
        if not isinstance(versions, list) or not versions:
            raise ConfigError("%s: versions must be a non-empty list" % where)
        self.versions = {}
        from .util import parse_time
        for n, v in enumerate(versions, 1):
            if not isinstance(v, dict) or "content" not in v:
                raise ConfigError("%s: each version needs content" % where)
            ver = str(v.get("version", n))
            content = v["content"]
            if not isinstance(content, str):
                content = json.dumps(content, indent=2)
            try:
                created = parse_time(v.get("created"), where + ": created") or now
            except ValueError as e:
                raise ConfigError(str(e))
            self.versions[ver] = {"content": content, "created": created}
        self.latest = list(self.versions)[-1]
        self.last_modified = max(v["created"] for v in self.versions.values())


def default_schema_content(schema_type, title):
    """Content used for generated schemas: a small input schema with one string property."""
    body = {
        "type": "object",
        "properties": {"message": {"type": "string", "description": "Text to send"}},
        "required": ["message"],
    }
    if schema_type == "OpenApi3":
        return json.dumps({
            "openapi": "3.0.0",
            "info": {"title": title, "version": "1.0.0"},
            "paths": {},
            "components": {"schemas": {title: body}},
        }, indent=2)
    d4 = {"$schema": "http://json-schema.org/draft-04/schema#", "title": title}
    d4.update(body)
    return json.dumps(d4, indent=2)
