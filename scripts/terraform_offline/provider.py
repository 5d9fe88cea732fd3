"""A stand-in for the hashicorp/aws provider that the real terraform binary runs offline.

It serves the schema snapshot (aws_provider_schema.json) over the plugin protocol (tfplugin6 on
go-plugin), so terraform itself checks every argument name, type, required argument, block and
reference against the real provider's schema. It plans creates the way a first real plan does
(computed attributes left null in the configuration are unknown, at every nesting level), answers data
sources with known values (planning.read_data_source) and refuses to apply.

Started by terraform (through the CLI configuration tf_plan writes); it speaks the go-plugin handshake:
one line on stdout, ``1|6|unix|<socket>|grpc|<server certificate>``. When terraform sets
PLUGIN_CLIENT_CERT (go-plugin AutoMTLS, which terraform always enables) the server presents its own
certificate (terraform pins it for the connection); see serve() for why the client's is not checked.

gRPC plumbing: the generated tfplugin6 / go-plugin stubs of the PyPI package ``tf`` (its
``tf.gen`` modules); its schema classes are for hand-written resources, so the servicer is ours.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
from concurrent import futures
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import msgpack
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_rpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
from tf.gen import tfplugin_pb2 as pb
from tf.gen import tfplugin_pb2_grpc as rpc

from scripts.terraform_offline import planning

SCHEMA_PATH = Path(__file__).resolve().parent / "aws_provider_schema.json"
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
_NESTING = {
    "single": pb.Schema.NestedBlock.SINGLE,
    "list": pb.Schema.NestedBlock.LIST,
    "set": pb.Schema.NestedBlock.SET,
    "map": pb.Schema.NestedBlock.MAP,
    "group": pb.Schema.NestedBlock.GROUP,
}


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    document = json.loads(path.read_text())
    schema: dict[str, Any] = document["provider_schemas"][PROVIDER_ADDRESS]
    return schema


def _block_pb(block: dict[str, Any]) -> pb.Schema.Block:
    attributes = [
        pb.Schema.Attribute(
            name=name,
            type=json.dumps(attribute["type"]).encode(),
            required=bool(attribute.get("required")),
            optional=bool(attribute.get("optional")),
            computed=bool(attribute.get("computed")),
            sensitive=bool(attribute.get("sensitive")),
        )
        for name, attribute in block.get("attributes", {}).items()
    ]
    block_types = [
        pb.Schema.NestedBlock(
            type_name=name,
            block=_block_pb(nested["block"]),
            nesting=_NESTING[nested["nesting_mode"]],
            min_items=nested.get("min_items", 0),
            max_items=nested.get("max_items", 0),
        )
        for name, nested in block.get("block_types", {}).items()
    ]
    return pb.Schema.Block(attributes=attributes, block_types=block_types)


def _schema_pb(schema: dict[str, Any]) -> pb.Schema:
    return pb.Schema(version=schema.get("version", 0), block=_block_pb(schema["block"]))


def decode(value: pb.DynamicValue) -> Any:
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, raw=False, strict_map_key=False)
    if value.json:
        return json.loads(value.json)
    return None


def encode(value: Any) -> pb.DynamicValue:
    return pb.DynamicValue(msgpack=msgpack.packb(value, use_bin_type=True))


def _error(summary: str, detail: str = "") -> pb.Diagnostic:
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


class AwsStandIn(rpc.ProviderServicer):
    """The tfplugin6 Provider service on the schema snapshot."""

    def __init__(self, schema: dict[str, Any], stop: threading.Event) -> None:
        self.schema = schema
        self.resources: dict[str, Any] = schema["resource_schemas"]
        self.data_sources: dict[str, Any] = schema["data_source_schemas"]
        self.provider = planning.ProviderState()
        self._stop = stop
        self._schema_response: pb.GetProviderSchema.Response | None = None

    def _capabilities(self) -> pb.ServerCapabilities:
        return pb.ServerCapabilities(plan_destroy=True, get_provider_schema_optional=False)

    def GetMetadata(self, request: Any, context: Any) -> Any:
        return pb.GetMetadata.Response(
            server_capabilities=self._capabilities(),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=name) for name in self.resources],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=name) for name in self.data_sources],
        )

    def GetProviderSchema(self, request: Any, context: Any) -> Any:
        if self._schema_response is None:
            self._schema_response = pb.GetProviderSchema.Response(
                provider=_schema_pb(self.schema["provider"]),
                resource_schemas={name: _schema_pb(s) for name, s in self.resources.items()},
                data_source_schemas={name: _schema_pb(s) for name, s in self.data_sources.items()},
                server_capabilities=self._capabilities(),
            )
        return self._schema_response

    def GetFunctions(self, request: Any, context: Any) -> Any:
        return pb.GetFunctions.Response()

    def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateResourceConfig.Response()

    def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
        return pb.ValidateDataResourceConfig.Response()

    def ConfigureProvider(self, request: Any, context: Any) -> Any:
        self.provider = planning.ProviderState.from_config(decode(request.config))
        return pb.ConfigureProvider.Response()

    def UpgradeResourceState(self, request: Any, context: Any) -> Any:
        raw = request.raw_state
        state = json.loads(raw.json) if raw.json else None
        return pb.UpgradeResourceState.Response(upgraded_state=encode(state))

    def ReadResource(self, request: Any, context: Any) -> Any:
        return pb.ReadResource.Response(new_state=request.current_state, private=request.private)

    def PlanResourceChange(self, request: Any, context: Any) -> Any:
        block = self.resources[request.type_name]["block"]
        proposed = decode(request.proposed_new_state)
        prior = decode(request.prior_state)
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        if prior is not None:
            # An update: keep what the proposal says (prior values for computed attributes).
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        config = decode(request.config)
        planned = planning.plan_resource(block, config, self.provider)
        return pb.PlanResourceChange.Response(planned_state=encode(planned))

    def ApplyResourceChange(self, request: Any, context: Any) -> Any:
        return pb.ApplyResourceChange.Response(
            diagnostics=[
                _error("The offline stand-in for hashicorp/aws cannot apply", "It only validates and plans.")
            ]
        )

    def ImportResourceState(self, request: Any, context: Any) -> Any:
        return pb.ImportResourceState.Response(
            diagnostics=[_error("The offline stand-in for hashicorp/aws cannot import")]
        )

    def ReadDataSource(self, request: Any, context: Any) -> Any:
        block = self.data_sources[request.type_name]["block"]
        config = decode(request.config)
        try:
            state = planning.read_data_source(request.type_name, block, config, self.provider)
        except planning.DataSourceError as exc:
            return pb.ReadDataSource.Response(diagnostics=[_error(f"{request.type_name}: {exc}")])
        return pb.ReadDataSource.Response(state=encode(state))

    def StopProvider(self, request: Any, context: Any) -> Any:
        return pb.StopProvider.Response()


class _Controller(controller_rpc.GRPCControllerServicer):
    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def Shutdown(self, request: Any, context: Any) -> Any:
        self._stop.set()
        return controller_pb.Empty()


class _Stdio(stdio_rpc.GRPCStdioServicer):
    def StreamStdio(self, request: Any, context: Any) -> Any:
        return iter(())


def _certificate() -> tuple[bytes, bytes, bytes]:
    """A fresh self-signed ECDSA certificate for localhost: (key PEM, certificate PEM, certificate DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=12))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (
        key_pem,
        certificate.public_bytes(serialization.Encoding.PEM),
        certificate.public_bytes(serialization.Encoding.DER),
    )


def serve(schema_path: Path = SCHEMA_PATH) -> int:
    if (
        os.environ.get("TF_PLUGIN_MAGIC_COOKIE")
        != "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
    ):
        print(
            "This is the offline stand-in for the hashicorp/aws Terraform provider: terraform starts it "
            "(make tf-plan); it is not run by hand.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    rpc.add_ProviderServicer_to_server(AwsStandIn(load_schema(schema_path), stop), server)
    controller_rpc.add_GRPCControllerServicer_to_server(_Controller(stop), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(_Stdio(), server)
    with tempfile.TemporaryDirectory(prefix="tf-aws-standin-") as tmp:
        socket_path = f"{tmp}/plugin.sock"
        client_certificate = os.environ.get("PLUGIN_CLIENT_CERT")
        certificate_field = ""
        if client_certificate:
            key_pem, cert_pem, cert_der = _certificate()
            # Terraform's client certificate is ECDSA P-521, a signature algorithm gRPC's BoringSSL does
            # not offer for client certificates, so requiring it fails every handshake: the server proves
            # itself and the socket sits in a private (0700) temporary directory instead.
            credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)], require_client_auth=False)
            server.add_secure_port(f"unix:{socket_path}", credentials)
            certificate_field = base64.b64encode(cert_der).decode().rstrip("=")
        else:
            server.add_insecure_port(f"unix:{socket_path}")
        server.start()
        parent = os.getppid()
        print(f"1|6|unix|{socket_path}|grpc|{certificate_field}", flush=True)
        while not stop.wait(1.0) and os.getppid() == parent:
            pass  # until terraform shuts the plugin down or goes away
        server.stop(grace=0.2).wait()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
