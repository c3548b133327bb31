import Testing
@testable import RLTensor

/// Reading Linux's memory figures: the `/proc` field parser, and the live values where `/proc` exists.
@Suite("System memory")
struct SystemMemoryTests {
    @Test("/proc fields are read however they are spaced")
    func procFields() {
        let status = "Name:\tgrpo\nVmHWM:\t10924636 kB\nVmRSS:\t   12345 kB\n"
        #expect(SystemMemory.procField(status, "VmHWM") == 10_924_636 * 1024)
        #expect(SystemMemory.procField(status, "VmRSS") == 12_345 * 1024)
        #expect(SystemMemory.procField("MemAvailable:   19710912 kB\n", "MemAvailable") == 19_710_912 * 1024)
        #expect(SystemMemory.procField(status, "VmSwap") == nil)
        #expect(SystemMemory.procField("VmRSS:\tlots kB\n", "VmRSS") == nil)
    }

    @Test("resident bytes count a buffer this process touched (in bytes, not kB); free bytes are positive")
    func liveValues() throws {
        #if os(Linux)
        let free = try #require(SystemMemory.freeBytes())
        #expect(free > 0)
        let bytes = 64 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        let resident = try #require(SystemMemory.residentBytes())
        #expect(resident >= bytes, "resident \(resident) bytes with \(bytes) touched")
        #else
        #expect(SystemMemory.freeBytes() == nil, "only Linux's /proc is read")
        #endif
    }
}
