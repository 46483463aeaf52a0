import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The HTTP child channel of `serve`: Hummingbird's HTTP/1.1 channel with
/// the WebSocket upgrade, plus a guard for the first request of each
/// connection.
///
/// Why the guard: until the first request head is complete, the pipeline is
/// NIO's upgrade negotiation, which Hummingbird configures without error
/// handling and without its idle timer (both are added only once the
/// negotiation ends). So malformed HTTP on a new connection got no answer
/// and the connection stayed open, and a client that sent its first head
/// slowly was never timed out. `FirstRequestGuard` answers a parse error
/// with 400 (431 for headers over `maxHeaderBytes`) and closes, and closes
/// with 408 a connection whose first head is not complete within
/// `requestHeadTimeoutSeconds`. Once the negotiation ended it removes
/// itself: from then on Hummingbird's own handling (400 on parse errors,
/// `idleTimeoutSeconds` between requests) takes over.
struct GuardedHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let requestHeadTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try channel.pipeline.syncOperations.addHandler(FirstRequestGuard(timeout: requestHeadTimeout, logger: logger))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the WebSocket upgrade of `webSocketRouter`, the limits
    /// of `options`, and `FirstRequestGuard` on every connection.
    static func guardedHTTP1WebSocketUpgrade<WSRouter: HTTPResponderBuilder>(
        webSocketRouter: WSRouter, options: HTTPOptions
    ) -> HTTPServerBuilder where WSRouter.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: options.maxHeaderBytes, maxHeaderListSize: options.maxHeaderBytes,
            maxHeaderFieldCount: options.maxHeaderFields)
        let http1 = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(options.idleTimeoutSeconds * 1000)),
                                               httpDecoderConfiguration: decoder)
        let timeout = TimeAmount.milliseconds(Int64(options.requestHeadTimeoutSeconds * 1000))
        return HTTPServerBuilder { responder in
            GuardedHTTPChannel(inner: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder,
                                                                   configuration: .init(http1: http1, ws: .init())),
                               requestHeadTimeout: timeout)
        }
    }
}

/// Sits after NIO's upgrade handler while the first request head is read;
/// see `GuardedHTTPChannel`. Passes everything through unchanged.
final class FirstRequestGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = HTTPServerResponsePart

    private let timeout: TimeAmount
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var done = false

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (me, context) = loopBound.value
            me.timeoutFired(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    /// The first read that reaches this handler comes after the negotiation
    /// ended (the upgrade handler buffers until then): step aside.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
        stepAside(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !done, negotiating(context), let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        done = true
        let tooLarge = parseError == .headerOverflow
        logger.debug("malformed HTTP on a new connection", metadata: ["http.error": "\(parseError)"])
        respond(context: context, status: tooLarge ? .requestHeaderFieldsTooLarge : .badRequest,
                code: tooLarge ? "headers_too_large" : "bad_request",
                message: tooLarge ? "the request headers are larger than this server accepts; send fewer or shorter headers"
                    : "the request is not valid HTTP/1.1 (\(parseError)); the connection is closed")
    }

    private func timeoutFired(context: ChannelHandlerContext) {
        deadline = nil
        guard !done else { return }
        guard negotiating(context) else {
            stepAside(context: context)
            return
        }
        done = true
        logger.debug("first request head too slow, closing")
        respond(context: context, status: .requestTimeout, code: "request_timeout",
                message: "the request head did not arrive in time; the connection is closed")
    }

    /// Whether NIO's upgrade handler is still waiting for the first request head.
    private func negotiating(_ context: ChannelHandlerContext) -> Bool {
        (try? context.pipeline.syncOperations.handler(
            type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)) != nil
    }

    private func stepAside(context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        deadline?.cancel()
        deadline = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Writes an error response in the contract's shape and closes the connection.
    private func respond(context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        let body = #"{"error":{"code":"\#(code)","message":"\#(message.replacingOccurrences(of: "\"", with: "'"))"}}"#
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let channel = context.channel
        done.whenComplete { _ in channel.close(promise: nil) }
    }
}
