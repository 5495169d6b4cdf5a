import BenchmarkSupport

typealias Options = BenchmarkOptions

/// cellhub-queue-bench's modes, each against HOST:PORT.
let usage = """
    usage: cellhub-queue-bench MODE HOST:PORT ...
      setup   HOST:PORT --token T --images N --ids-file FILE [--uploads-in-flight 4]
              creates one project, uploads N tiny PNGs (100 per UploadImages call), prints the
              project id and writes the image ids to FILE, one a line
      backlog HOST:PORT --token T --worker-token W --project ID --jobs N [--workers 16]
              [--max-concurrent-jobs 1] [--stall-seconds 60]
              enqueues every unsegmented image of the project (must be N), then starts the
              workers: jobs/s from the first assignment to the last completion, and
              CompleteJob return -> next assignment arrival per worker
      trickle HOST:PORT --token T --worker-token W --project ID --ids-file FILE --jobs M
              [--workers 16] [--max-concurrent-jobs 1] [--batch 16] [--rate 20] [--stall-seconds 60]
              connects the workers, waits until the server counts them, then enqueues the first M
              ids of FILE in batches of --batch at --rate batches/s (open loop): EnqueueSegmentation
              return -> assignment arrival per job
    Figures are printed as `result KEY VALUE` lines; anything missing fails the run (exit 1).
    """

extension BenchmarkOptions {
    init(_ arguments: [String]) throws(UsageError) {
        try self.init(arguments, modes: ["setup", "backlog", "trickle"], usage: usage)
    }
}
