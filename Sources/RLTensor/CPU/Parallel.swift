import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits loops across the machine's cores (or `RL_NUM_THREADS`).
enum Parallel {
    static let threadCount: Int = {
        if let text = getenv("RL_NUM_THREADS").map({ String(cString: $0) }), let n = Int(text), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Calls `body(start, end)` over disjoint ranges covering `0..<total`, in parallel when each
    /// range gets at least `grain` items.
    static func ranges(_ total: Int, grain: Int, _ body: (Int, Int) -> Void) {
        guard total > 0 else { return }
        let chunks = min(threadCount, max(1, total / max(grain, 1)))
        if chunks == 1 { body(0, total); return }
        withoutActuallyEscaping(body) { body in
            let box = UnsafeSendableBox(body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = total * c / chunks, end = total * (c + 1) / chunks
                box.value(start, end)
            }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`, whose iterations only touch disjoint
/// memory.
struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
