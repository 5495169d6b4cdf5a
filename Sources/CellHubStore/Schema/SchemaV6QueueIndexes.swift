/// Migration "v6-queue-indexes": the claim order and the completion times indexed only for
/// the jobs each is read for (queued ones, completed ones). As full indexes keyed by status,
/// every claim and every completion moved an entry in each from one status's region to
/// another's — two B-tree changes and often two more pages written per index per step.
enum SchemaV6QueueIndexes {
    static let sql = """
        DROP INDEX jobs_claim;
        CREATE INDEX jobs_claim ON segmentation_jobs(priority DESC, seq) WHERE status = 1;
        DROP INDEX jobs_by_finish;
        CREATE INDEX jobs_by_finish ON segmentation_jobs(finished_at_ms) WHERE status = 3;
        """
}
