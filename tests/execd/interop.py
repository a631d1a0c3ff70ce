#!/usr/bin/python3
"""interop.py -- the Python side of test_grpc_interop.c: proves
proto/execution.proto against an implementation we did not write (Debian's
python3-grpcio and python3-protobuf). The messages are built at run time from
the descriptor set protoc-c wrote from the same .proto (build/<v>/proto/).

  interop.py DESC client PORT   calls venue-sim: submit, duplicate, limit, cancel,
                                bad request; prints "ok" or raises
  interop.py DESC server LOG    serves OrderExecution on a free loopback port
                                (printed first on stdout); each request is
                                appended to LOG as one JSON line; stops on SIGTERM

Exit status 77 means "skip": grpc or protobuf missing from this Python."""
import json
import signal
import sys
import threading

try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError as e:  # the C test turns this into a clear skip
    print("skip: %s" % e, file=sys.stderr)
    sys.exit(77)

SERVICE = "execution.v1.OrderExecution"


def load(desc_path):
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(desc_path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    svc = pool.FindServiceByName(SERVICE)
    msgs = {}
    for name, m in svc.methods_by_name.items():
        msgs[name] = (factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type))
    side = pool.FindEnumTypeByName("execution.v1.Side").values_by_name
    otype = pool.FindEnumTypeByName("execution.v1.OrderType").values_by_name
    return msgs, side, otype


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def client(desc, port):
    msgs, side, otype = load(desc)
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    calls = {}
    for name, (req, resp) in msgs.items():
        calls[name] = ch.unary_unary("/%s/%s" % (SERVICE, name), request_serializer=req.SerializeToString,
                                     response_deserializer=resp.FromString)
    Submit, Cancel = msgs["SubmitOrder"][0], msgs["CancelOrder"][0]

    mkt = Submit(client_order_id="py-1", strategy="interop", symbol="BTC-USD", side=side["SIDE_BUY"].number,
                 type=otype["ORDER_TYPE_MARKET"].number, quantity=1.5, created_ns=1732400000000000000)
    a = calls["SubmitOrder"](mkt, timeout=5)
    check(a.accepted and a.order_id and a.client_order_id == "py-1", "market order accepted: %s" % a)
    again = calls["SubmitOrder"](mkt, timeout=5)
    check(again.accepted and again.order_id == a.order_id, "a retry gets the first answer: %s" % again)

    lim = Submit(client_order_id="py-2", strategy="interop", symbol="BTC-USD", side=side["SIDE_SELL"].number,
                 type=otype["ORDER_TYPE_LIMIT"].number, quantity=2.0, limit_price=1e6)
    b = calls["SubmitOrder"](lim, timeout=5)
    check(b.accepted and b.order_id != a.order_id, "limit order rests: %s" % b)
    c = calls["CancelOrder"](Cancel(client_order_id="py-2", symbol="BTC-USD"), timeout=5)
    check(c.accepted, "resting order cancelled: %s" % c)
    d = calls["CancelOrder"](Cancel(client_order_id="py-1", symbol="BTC-USD"), timeout=5)
    check(not d.accepted and d.reject_reason == "already_filled", "a filled order cannot be cancelled: %s" % d)
    e = calls["CancelOrder"](Cancel(client_order_id="nobody", symbol="BTC-USD"), timeout=5)
    check(not e.accepted and e.reject_reason == "unknown_order", "unknown order: %s" % e)

    bad = Submit(client_order_id="py-3", symbol="BTC-USD", side=side["SIDE_BUY"].number, quantity=1.0)
    f = calls["SubmitOrder"](bad, timeout=5)
    check(not f.accepted and f.reject_reason == "invalid_type", "an order without a type is refused: %s" % f)

    try:
        ch.unary_unary("/%s/Nope" % SERVICE)(b"", timeout=5)
        check(False, "an unknown method must fail")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.UNIMPLEMENTED, "unknown method: %s" % err.code())
    print("ok")


def server(desc, log_path):
    from concurrent import futures
    msgs, side, otype = load(desc)
    log = open(log_path, "a")
    lock = threading.Lock()
    seen = {}

    def submit(req, ctx):
        with lock:
            log.write(json.dumps({"method": "SubmitOrder", "client_order_id": req.client_order_id,
                                  "strategy": req.strategy, "symbol": req.symbol, "side": req.side,
                                  "type": req.type, "quantity": req.quantity,
                                  "limit_price": req.limit_price, "created_ns": req.created_ns}) + "\n")
            log.flush()
            seen.setdefault(req.client_order_id, "py-" + req.client_order_id)
            oid = seen[req.client_order_id]
        resp = msgs["SubmitOrder"][1]
        if req.symbol == "REJECT-ME":
            return resp(client_order_id=req.client_order_id, accepted=False, reject_reason="python_says_no")
        return resp(client_order_id=req.client_order_id, order_id=oid, accepted=True)

    def cancel(req, ctx):
        with lock:
            log.write(json.dumps({"method": "CancelOrder", "client_order_id": req.client_order_id,
                                  "symbol": req.symbol}) + "\n")
            log.flush()
        return msgs["CancelOrder"][1](accepted=req.client_order_id in seen,
                                       reject_reason="" if req.client_order_id in seen else "unknown_order")

    handlers = {
        "SubmitOrder": grpc.unary_unary_rpc_method_handler(
            submit, request_deserializer=msgs["SubmitOrder"][0].FromString,
            response_serializer=msgs["SubmitOrder"][1].SerializeToString),
        "CancelOrder": grpc.unary_unary_rpc_method_handler(
            cancel, request_deserializer=msgs["CancelOrder"][0].FromString,
            response_serializer=msgs["CancelOrder"][1].SerializeToString),
    }
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    print(port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    srv.stop(0)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in ("client", "server"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if sys.argv[2] == "client":
        client(sys.argv[1], int(sys.argv[3]))
    else:
        server(sys.argv[1], sys.argv[3])
