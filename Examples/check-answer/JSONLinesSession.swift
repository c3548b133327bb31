import Dispatch
import RLMath
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `check-answer --jsonl`: JSON Lines in on stdin, one verdict line out per input line, in input
/// order.
///
/// Stdin is read in blocks of up to 1 MiB; every complete line that has arrived is checked, on
/// `threads` threads when there are several lines, and the verdicts are written with one `write`
/// per block, in input order. A caller that sends one line and waits gets its answer at once
/// (a block is whatever the pipe holds), and a caller that streams a file gets all cores.
struct JSONLinesSession {
    let verifier: MathVerifier
    let mode: VerificationMode
    /// Checking threads (≥ 1).
    let threads: Int
    /// Longest line accepted, in bytes; a longer one gets an error verdict and is not buffered.
    let maximumLineBytes: Int

    /// A failure of stdin or stdout (the run stops; verdicts already written stay valid).
    struct StreamError: Error, CustomStringConvertible {
        var operation: String
        var code: Int32
        var description: String { "\(operation) failed: \(String(cString: strerror(code)))" }
    }

    /// Checks lines until stdin ends.
    func run() throws(StreamError) {
        var pending: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var skippingOverlongLine = false
        var output: [UInt8] = []
        while true {
            let count = block.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StreamError(operation: "reading stdin", code: errno)
            }
            if count == 0 { break }
            var lines: [Range<Int>] = []
            var overlong: Set<Int> = []
            var lineStart = pending.count
            pending.append(contentsOf: block[0..<count])
            // Lines end at the newlines of the new bytes; `pending` held no newline before.
            let searchFrom = lineStart
            lineStart = 0
            pending.withUnsafeBytes { bytes in
                var index = searchFrom
                while index < bytes.count,
                      let found = memchr(bytes.baseAddress! + index, Int32(UInt8(ascii: "\n")), bytes.count - index) {
                    let newline = UnsafeRawPointer(found) - bytes.baseAddress!
                    if skippingOverlongLine || newline - lineStart > maximumLineBytes {
                        overlong.insert(lines.count)
                        skippingOverlongLine = false
                    }
                    lines.append(lineStart..<newline)
                    lineStart = newline + 1
                    index = newline + 1
                }
            }
            output.removeAll(keepingCapacity: true)
            check(pending, lines: lines, overlong: overlong, into: &output)
            pending.removeFirst(lineStart)
            if pending.count > maximumLineBytes {
                // Too long to be a case: forget its bytes now and answer with an error at its newline.
                pending.removeAll(keepingCapacity: false)
                skippingOverlongLine = true
            }
            try writeAll(output)
        }
        // A last line without a newline still gets its verdict.
        if !pending.isEmpty || skippingOverlongLine {
            output.removeAll(keepingCapacity: true)
            check(pending, lines: [0..<pending.count], overlong: skippingOverlongLine ? [0] : [], into: &output)
            try writeAll(output)
        }
    }

    /// Appends the verdict lines of `lines` (ranges of `bytes`) to `output`, in order.
    private func check(_ bytes: [UInt8], lines: [Range<Int>], overlong: Set<Int>, into output: inout [UInt8]) {
        guard !lines.isEmpty else { return }
        var verdicts = [[UInt8]](repeating: [], count: lines.count)
        bytes.withUnsafeBufferPointer { bytes in
            verdicts.withUnsafeMutableBufferPointer { verdicts in
                // Each index is written by exactly one thread, and read only after all have finished.
                nonisolated(unsafe) let verdicts = verdicts
                nonisolated(unsafe) let bytes = bytes
                let checkLine = { @Sendable (index: Int) in
                    verdicts[index] = overlong.contains(index)
                        ? errorLine("line longer than \(maximumLineBytes) bytes")
                        : verdictLine(UnsafeBufferPointer(rebasing: bytes[lines[index]]))
                }
                let workers = min(threads, lines.count)
                if workers <= 1 {
                    for index in lines.indices { checkLine(index) }
                    return
                }
                // Threads take the next few lines until none are left; each writes only its own slots.
                let next = Atomic<Int>(0)
                let stride = 4
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let first = next.add(stride, ordering: .relaxed).oldValue
                        if first >= lines.count { return }
                        for index in first..<min(first + stride, lines.count) { checkLine(index) }
                    }
                }
            }
        }
        for verdict in verdicts {
            output.append(contentsOf: verdict)
            output.append(UInt8(ascii: "\n"))
        }
    }

    /// The verdict of one input line (or its error), without the newline.
    private func verdictLine(_ line: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let item: JSONLineCodec.Case
        do {
            item = try JSONLineCodec.decodeCase(line)
        } catch {
            return errorLine("malformed input line: \(error.message) (expected a JSON object with string fields gold and answer)")
        }
        let verdict = verifier.verify(gold: item.gold, completion: item.answer, mode: mode)
        var result: [UInt8] = []
        result.reserveCapacity(64 + (verdict.extractedAnswer?.utf8.count ?? 0) + (verdict.parsedGold?.utf8.count ?? 0))
        result.append(contentsOf: "{\"correct\": \(verdict.isCorrect), \"extracted\": ".utf8)
        JSONLineCodec.appendString(verdict.extractedAnswer, to: &result)
        result.append(contentsOf: ", \"gold_extracted\": ".utf8)
        JSONLineCodec.appendString(verdict.parsedGold, to: &result)
        result.append(UInt8(ascii: "}"))
        return result
    }

    private func errorLine(_ message: String) -> [UInt8] {
        var result = Array("{\"error\": ".utf8)
        JSONLineCodec.appendString(message, to: &result)
        result.append(UInt8(ascii: "}"))
        return result
    }

    /// Writes all of `bytes` to stdout.
    private func writeAll(_ bytes: [UInt8]) throws(StreamError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw StreamError(operation: "writing stdout", code: errno)
            }
            offset += written
        }
    }
}
