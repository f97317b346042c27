"""Amazon EventBridge Schemas (REST-JSON, 2019-12-02; signing name "schemas"): DescribeSchema."""
from urllib.parse import unquote

from .protocols import ApiError, json_response, schemas_error
from .util import iso_z


class SchemasService:
    name = "schemas"
    signing_name = "schemas"
    error = staticmethod(schemas_error)

    def __init__(self, state):
        self.state = state

    @staticmethod
    def claims(req):
        return req.path.startswith("/v1/registries") or req.path.startswith("/v1/discoverers")

    def requires_auth(self, op):
        return True

    def identify(self, req):
        segs = req.path.split("/")
        # ['', 'v1', 'registries', 'name', R, 'schemas', 'name', S]
        if (len(segs) == 8 and segs[1:4] == ["v1", "registries", "name"] and segs[5:7] == ["schemas", "name"]
                and req.method == "GET"):
            req.route_args = (unquote(segs[4]), unquote(segs[7]))
            return "DescribeSchema", None
        raise ApiError(404, "NotFoundException", "The emulator implements only DescribeSchema of this API")

    def handle(self, req):
        registry, name = req.route_args
        reg = self.state.registries.get(registry)
        if reg is None:
            raise ApiError(404, "NotFoundException", "Registry with name %s does not exist." % registry)
        schema = reg["schemas"].get(name)
        if schema is None:
            raise ApiError(404, "NotFoundException", "Schema with name %s does not exist." % name)
        version = req.params.get("schemaVersion") or schema.latest
        v = schema.versions.get(version)
        if v is None:
            raise ApiError(404, "NotFoundException",
                           "Schema %s with version %s does not exist." % (name, version))
        out = {
            "Content": v["content"],
            "LastModified": iso_z(schema.last_modified),
            "SchemaArn": schema.arn,
            "SchemaName": schema.name,
            "SchemaVersion": version,
            "Type": schema.type,
            "VersionCreatedDate": iso_z(v["created"]),
            "tags": dict(schema.tags),
        }
        if schema.description is not None:
            out["Description"] = schema.description
        return json_response(out)
