"""A gateway server bound to the host of GATEWAY_LISTEN (the stock twisted server binds 0.0.0.0)."""

from localstack.runtime.server.core import RuntimeServerPlugin


def _no_s3_dns_lookup():
    # LocalStack resolves s3.<LOCALSTACK_HOST> once at startup; there is no DNS here.
    from localstack.utils.aws import aws_stack

    aws_stack.CACHE_S3_HOSTNAME_DNS_STATUS = False


class LoopbackServerPlugin(RuntimeServerPlugin):
    name = "skyforge-loopback"

    def load(self, *args, **kwargs):
        from localstack.runtime.server.twisted import TwistedRuntimeServer
        from rolo.serving.twisted import TwistedGateway
        from twisted.internet import endpoints, reactor

        _no_s3_dns_lookup()

        class LoopbackTwistedServer(TwistedRuntimeServer):
            def register(self, gateway, listen, ssl_creds=None):
                site = TwistedGateway(gateway)
                for hp in listen:
                    endpoint = endpoints.TCP4ServerEndpoint(reactor, hp.port, interface=hp.host)
                    endpoint.listen(site)

        return LoopbackTwistedServer()
