import Foundation
import Testing

@testable import RLDistributed

/// NCCL's library is looked up and bound here; its collectives need a GPU (`scripts/gpu-check`).
@Suite("NCCL loading")
struct NCCLLoadingTests {
    @Test("A missing NCCL is an error that names where it looked and how to install it")
    func missingLibraryIsExplained() {
        guard case .failure(let error) = NCCLCollective.open(candidates: ["libnccl-absent.so.2"]) else {
            Issue.record("opened a library that does not exist")
            return
        }
        #expect(error.description.contains("libnccl-absent.so.2"), "\(error)")
        #expect(error.description.contains("pip install nvidia-nccl-cu12"), "\(error)")
    }

    @Test("NCCL from the PyPI wheel: every entry point binds and the version is 2.x",
          .enabled(if: ProcessInfo.processInfo.environment["RL_NCCL_LIBRARY"] != nil,
                   "set RL_NCCL_LIBRARY to a libnccl.so.2 (scripts/ci-cuda-compile extracts one from nvidia-nccl-cu12)"))
    func wheelLibraryBinds() throws {
        let path = try #require(ProcessInfo.processInfo.environment["RL_NCCL_LIBRARY"])
        let opened = try NCCLCollective.open(candidates: [path]).get()
        #expect(opened.version >= 20_000 && opened.version < 30_000, "version \(opened.version)")
        let text = try NCCLCollective.availability().get()
        #expect(text.hasPrefix("NCCL 2.") && text.contains("libnccl"), "\(text)")
    }

    @Test("A library that is not NCCL is refused, naming the missing entry point")
    func otherLibraryIsRefused() {
        guard case .failure(let error) = NCCLCollective.open(candidates: ["libm.so.6"]) else {
            Issue.record("libm was taken for NCCL")
            return
        }
        #expect(error.description.contains("lacks ncclGetVersion"), "\(error)")
    }
}
