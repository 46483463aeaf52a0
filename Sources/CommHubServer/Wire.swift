// The wire contract (ingest framing, compact codec, ingest items, request
// bodies) lives in CommHubWire, which builds without Hummingbird or NIO so
// that fuzz targets and gateways can use it alone. Re-exported so that
// `import CommHubServer` keeps giving clients `IngestProtocol` and friends.
@_exported import CommHubWire
