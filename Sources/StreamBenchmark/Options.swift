import BenchmarkSupport

typealias Options = BenchmarkOptions

/// cellhub-stream-bench's modes: floor-server serves, the others call HOST:PORT.
let usage = """
    usage: cellhub-stream-bench MODE ...
      floor-server [--host 127.0.0.1] [--port 0] [--loops 1]
      setup HOST:PORT --token T --projects N [--prefix NAME] [--share-with NAMES_FILE --share-index I]
      fanout HOST:PORT (--token T --project ID | --floor) [--streams 10000] [--connections 100]
             [--triggers 5] [--spacing-ms 1000] [--server-pid PID] [--teardown-watch-ms 7500]
             [--targets HOST:PORT,…  (streams spread over these nodes; triggers to HOST:PORT)]
      storm HOST:PORT --token T --project ID [--streams 10000] [--connections 100] [--rounds 3]
             [--resume [--resume-back 5] [--expect-replayed N]] [--server-pid PID] [--teardown-watch-ms 7500]
      dashboards HOST:PORT --token OWNER_TOKEN --project ID --tokens FILE [--users M]
             [--connections 100] [--triggers 5] [--spacing-ms 1000]
      sustained HOST:PORT --token T --projects-file FILE [--projects 100] [--streams 10000]
             [--connections 100] [--rate 100] [--seconds 20] [--server-pid PID]
      writes HOST:PORT --token T --projects-file FILE [--clients 8] [--seconds 5] [--images 100]
             [--image-bytes 4096] [--same-content] [--targets HOST:PORT,…  (writer c calls target c mod N)]
      delivery HOST:PORT --token T --project ID --uploads-via HOST:PORT,… [--labels NAME,…]
             [--samples 200] [--warm-up 3] [--spacing-ms 25]
    """

extension BenchmarkOptions {
    init(_ arguments: [String]) throws(UsageError) {
        try self.init(
            arguments, modes: ["floor-server", "setup", "fanout", "storm", "dashboards", "sustained", "writes", "delivery"],
            addressless: ["floor-server"], booleanFlags: ["--floor", "--resume", "--same-content"], usage: usage)
    }
}
