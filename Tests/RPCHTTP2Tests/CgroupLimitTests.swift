import EventLoop
import Foundation
import Testing

/// The loop count's cgroup half: CPU quotas read from fake cgroup trees (v2 `cpu.max`, v1
/// `cpu.cfs_quota_us`), the smallest along the process's cgroup and its ancestors, rounded up.
@Suite struct CgroupLimitTests {
    private func tree(_ files: [String: String], membership: String) throws -> (membership: String, root: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cellhub-cgroup-\(UUID().uuidString)").path
        for (path, text) in files {
            let url = URL(fileURLWithPath: base + "/root" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: base + "/root", withIntermediateDirectories: true)
        try membership.write(toFile: base + "/cgroup", atomically: true, encoding: .utf8)
        return (base + "/cgroup", base + "/root")
    }

    @Test func v2QuotaOnTheProcessCgroupOrAnAncestor() throws {
        let own = try tree(["/app.slice/web.service/cpu.max": "150000 100000\n"], membership: "0::/app.slice/web.service\n")
        #expect(EventLoopGroup.cgroupCPULimit(membership: own.membership, root: own.root) == 2, "1.5 CPUs round up to 2")
        let ancestor = try tree([
            "/app.slice/cpu.max": "100000 100000\n", "/app.slice/web.service/cpu.max": "max 100000\n",
        ], membership: "0::/app.slice/web.service\n")
        #expect(EventLoopGroup.cgroupCPULimit(membership: ancestor.membership, root: ancestor.root) == 1)
        let none = try tree(["/app.slice/cpu.max": "max 100000\n"], membership: "0::/app.slice\n")
        #expect(EventLoopGroup.cgroupCPULimit(membership: none.membership, root: none.root) == 0)
    }

    @Test func v1QuotaOfTheCPUController() throws {
        let v1 = try tree([
            "/cpu/docker/abc/cpu.cfs_quota_us": "300000\n", "/cpu/docker/abc/cpu.cfs_period_us": "100000\n",
            "/cpu/docker/cpu.cfs_quota_us": "-1\n", "/cpu/docker/cpu.cfs_period_us": "100000\n",
        ], membership: "5:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
        #expect(EventLoopGroup.cgroupCPULimit(membership: v1.membership, root: v1.root) == 3)
        let unlimited = try tree([
            "/cpu/cpu.cfs_quota_us": "-1\n", "/cpu/cpu.cfs_period_us": "100000\n",
        ], membership: "2:cpuacct,cpu:/\n")
        #expect(EventLoopGroup.cgroupCPULimit(membership: unlimited.membership, root: unlimited.root) == 0)
    }
}
