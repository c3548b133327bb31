#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level searches over a completion used by `AnswerExtractor`. All searches are
/// linear in the completion length (or bounded by a small constant number of passes).
struct CompletionScanner {
    let bytes: [UInt8]

    private static let finalWord = Array("final ".utf8)
    private static let mathDelimiters = [(Array("\\(".utf8), Array("\\)".utf8)), (Array("\\[".utf8), Array("\\]".utf8))]
    private static let hopeSentence = Array("I hope it is correct".utf8)
    private static let isWord = Array(" is ".utf8)
    private static let maximumBoxesTried = 8
    private static let maximumMergedBoxes = 16

    // MARK: Boxes

    private struct Box {
        var start: Int
        var contentStart: Int
        var contentEnd: Int
        /// Index after the closing brace.
        var end: Int
        /// Braces left open inside a truncated box (closed again when its content is taken).
        var unclosedBraces = 0
    }

    /// Start offsets of every `\boxed` / `\fbox` command.
    func boxStarts() -> [Int] {
        var starts: [Int] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var index = 0
            // Jump from backslash to backslash (memchr), then test the two command names.
            while index < buffer.count, let found = memchr(base + index, Int32(UInt8(ascii: "\\")), buffer.count - index) {
                let start = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                for command in ["\\boxed", "\\fbox"] as [StaticString] {
                    let length = command.utf8CodeUnitCount
                    if bytes.hasPrefix(command, at: start), !(start + length < buffer.count && buffer[start + length].isASCIILetter) {
                        starts.append(start)
                        break
                    }
                }
                index = start + 1
            }
        }
        return starts
    }

    /// The box at `start`: braced content with balanced braces, a bare token (`\boxed 5`),
    /// or, when truncated, everything to the end.
    private func box(at start: Int) -> Box? {
        var index = start + 1
        while index < bytes.count, bytes[index].isASCIILetter { index += 1 }
        while index < bytes.count, bytes[index] == 32 { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] != UInt8(ascii: "{") {
            let contentStart = index
            while index < bytes.count, !bytes[index].isASCIISpace, bytes[index] != UInt8(ascii: "$") { index += 1 }
            return index > contentStart ? Box(start: start, contentStart: contentStart, contentEnd: index, end: index) : nil
        }
        let contentStart = index + 1
        var level = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if byte == UInt8(ascii: "{") { level += 1 }
            if byte == UInt8(ascii: "}") {
                level -= 1
                if level == 0 { return Box(start: start, contentStart: contentStart, contentEnd: index, end: index + 1) }
            }
            index += 1
        }
        // Truncated: keep the visible content when it is short and on one line.
        let tail = bytes[contentStart...]
        if tail.count <= 200, !tail.contains(10) {
            return Box(start: start, contentStart: contentStart, contentEnd: bytes.count, end: bytes.count, unclosedBraces: level - 1)
        }
        return nil
    }

    /// Whether the box is introduced by a negation (`(not \boxed{6})`).
    private func isNegated(_ box: Box) -> Bool {
        var index = box.start - 1
        while index >= 0, bytes[index].isASCIISpace || bytes[index] == UInt8(ascii: "$") || bytes[index] == UInt8(ascii: "(") { index -= 1 }
        if index >= 1, bytes[index] == UInt8(ascii: "("), bytes[index - 1] == UInt8(ascii: "\\") { index -= 2 }
        guard index >= 2 else { return false }
        let word = bytes[(index - 2)...index].map { $0 | 0x20 }
        let isNot = word == Array("not".utf8) && (index < 3 || !bytes[index - 3].isASCIILetter)
        let isNt = word == Array("n't".utf8)
        return isNot || isNt
    }

    /// Whether only separators lie between two boxes (`\boxed{1}, \boxed{2}`, `$\boxed{1}$ and $\boxed{2}$`).
    private func onlySeparators(from start: Int, to end: Int) -> Bool {
        if end - start > 40 { return false }
        var text = bytes[start..<end].map { $0.isASCIILetter ? $0 | 0x20 : $0 }
        for word in ["\\text{", "\\quad", "\\qquad", "and", "\\(", "\\)", "\\,", "\\ "] {
            let pattern = Array(word.utf8)
            var index = 0
            while index + pattern.count <= text.count {
                if Array(text[index..<(index + pattern.count)]) == pattern {
                    text.removeSubrange(index..<(index + pattern.count))
                } else {
                    index += 1
                }
            }
        }
        // Names of the boxed values: `x = \boxed{1}, y = \boxed{2}`.
        var index = 0
        while index < text.count {
            if text[index].isASCIILetter, index == 0 || !text[index - 1].isASCIILetter {
                var next = index + 1
                if next < text.count, text[next] == UInt8(ascii: "_") { next += 2 }
                while next < text.count, text[next] == 32 { next += 1 }
                if next < text.count, text[next] == UInt8(ascii: "="), next + 1 >= text.count || !text[index + 1].isASCIILetter {
                    text.removeSubrange(index...next)
                    continue
                }
            }
            index += 1
        }
        return text.allSatisfy { $0.isASCIISpace || $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: ";") || $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "&") }
    }

    /// The last non-negated box; adjacent boxes before it are joined into one list.
    func lastBoxedAnswer(boxStarts known: [Int]? = nil) -> ArraySlice<UInt8>? {
        let starts = known ?? boxStarts()
        var tried = 0
        var chosen: Box?
        var chosenIndex = 0
        for (position, start) in starts.enumerated().reversed() {
            tried += 1
            if tried > CompletionScanner.maximumBoxesTried { break }
            guard let candidate = box(at: start), !isNegated(candidate) else { continue }
            chosen = candidate
            chosenIndex = position
            break
        }
        guard let last = chosen else { return nil }
        var parts: [Box] = [last]
        var index = chosenIndex - 1
        while index >= 0 && parts.count < CompletionScanner.maximumMergedBoxes {
            guard let previous = box(at: starts[index]), previous.end <= parts[0].start,
                  onlySeparators(from: previous.end, to: parts[0].start), !isNegated(previous) else { break }
            parts.insert(previous, at: 0)
            index -= 1
        }
        if parts.count == 1 {
            if last.unclosedBraces > 0 {
                let closed = Array(bytes[last.contentStart..<last.contentEnd]) + [UInt8](repeating: UInt8(ascii: "}"), count: min(last.unclosedBraces, 16))
                return closed[...]
            }
            return bytes[last.contentStart..<last.contentEnd]
        }
        var joined: [UInt8] = []
        for (offset, part) in parts.enumerated() {
            if offset > 0 { joined.append(contentsOf: Array(", ".utf8)) }
            joined.append(contentsOf: bytes[part.contentStart..<part.contentEnd])
        }
        return joined[...]
    }

    // MARK: Tags and phrases

    /// Content of the last `<answer>…</answer>` (to the end when the closing tag is missing).
    func lastAnswerTagContent() -> ArraySlice<UInt8>? {
        guard let open = lastIndex(of: "<answer>") else { return nil }
        let start = open + 8
        let close = firstIndex(of: "</answer>", from: start) ?? bytes.count
        return bytes[start..<close]
    }

    /// End offsets of the right-most "final answer is/:" and the right-most "answer is/:" anchors,
    /// found in one backward pass.
    func phraseAnchorEnds(downTo minimum: Int = 0) -> (final: Int?, plain: Int?) {
        let word = Array("answer".utf8)
        var final: Int?
        var plain: Int?
        var index = bytes.count - word.count
        while index >= minimum && (final == nil || plain == nil) {
            if bytes[index] | 0x20 == UInt8(ascii: "a"), matches(word, at: index, caseInsensitive: true),
               let end = anchorEnd(afterWordEndingAt: index + word.count) {
                if plain == nil { plain = end }
                if final == nil, matches(CompletionScanner.finalWord, at: index - 6, caseInsensitive: true) { final = end }
            }
            index -= 1
        }
        return (final, plain)
    }

    /// After "answer": " is", ":", " :", "**:", ":**" complete an anchor.
    private func anchorEnd(afterWordEndingAt start: Int) -> Int? {
        for suffix in [" is", ":", " :", "**:", ":**"] {
            let pattern = Array(suffix.utf8)
            if matches(pattern, at: start, caseInsensitive: true) {
                let end = start + pattern.count
                if suffix == " is", end < bytes.count, bytes[end].isASCIILetter { return nil }
                return end
            }
        }
        return nil
    }

    /// The answer after the right-most "final answer is/:" (or "answer is/:" when `finalOnly` is false).
    func lastPhraseAnswer(finalOnly: Bool) -> ArraySlice<UInt8>? {
        let anchors = phraseAnchorEnds()
        guard let end = finalOnly ? anchors.final : anchors.plain else { return nil }
        return answerAfter(end)
    }

    /// Whether math (not prose) follows an anchor: `$…`, `\(…`, a digit or a sign.
    func mathFollows(_ start: Int) -> Bool {
        var index = start
        while index < bytes.count, bytes[index].isASCIISpace || bytes[index] == UInt8(ascii: ":") || bytes[index] == UInt8(ascii: "*") { index += 1 }
        guard index < bytes.count else { return false }
        let byte = bytes[index]
        return byte == UInt8(ascii: "$") || byte == UInt8(ascii: "\\") || byte.isASCIIDigit || byte == UInt8(ascii: "-")
    }

    /// The math or text right after an anchor phrase.
    func answerAfter(_ start: Int) -> ArraySlice<UInt8>? {
        var index = start
        while index < bytes.count, bytes[index].isASCIISpace || bytes[index] == UInt8(ascii: ":") || bytes[index] == UInt8(ascii: "*") { index += 1 }
        guard index < bytes.count else { return nil }
        // An answer phrase that restates a further anchor ("Final Answer: The final answer is $x$").
        if let nested = firstIndex(of: "final answer is", from: index, caseInsensitive: true), nested == index {
            return answerAfter(index + 15)
        }
        if bytes.hasPrefix("$$", at: index) {
            let close = firstIndex(of: "$$", from: index + 2) ?? bytes.count
            return bytes[(index + 2)..<close]
        }
        if bytes[index] == UInt8(ascii: "$") {
            return bytes[(index + 1)..<closingDollar(from: index + 1)]
        }
        if bytes.hasPrefix("\\(", at: index) {
            let close = firstIndex(of: "\\)", from: index + 2) ?? bytes.count
            return bytes[(index + 2)..<close]
        }
        if bytes.hasPrefix("\\[", at: index) {
            let close = firstIndex(of: "\\]", from: index + 2) ?? bytes.count
            return bytes[(index + 2)..<close]
        }
        // Plain text: up to the end of the line or sentence; in a sentence ("The volume of $V$ is 120")
        // the answer follows the last " is ".
        var end = index
        var afterLastIs: Int?
        while end < bytes.count, bytes[end] != 10 {
            if bytes[end] == UInt8(ascii: "."), end + 1 >= bytes.count || bytes[end + 1].isASCIISpace { break }
            if bytes[end] == UInt8(ascii: "<") { break }
            if matches(CompletionScanner.isWord, at: end, caseInsensitive: true) { afterLastIs = end + 4 }
            end += 1
        }
        var start = afterLastIs ?? index
        // A sentence ("Jane started growing Sphere 3 hours ago"): the answer starts at its first number or math.
        var wordEnd = start
        while wordEnd < end, bytes[wordEnd].isASCIILetter { wordEnd += 1 }
        let firstWord = String(decoding: bytes[start..<wordEnd], as: UTF8.self).lowercased()
        if wordEnd - start >= 3, !CompletionScanner.mathWords.contains(firstWord),
           let math = bytes[start..<end].firstIndex(where: { $0.isASCIIDigit || $0 == UInt8(ascii: "$") || $0 == UInt8(ascii: "\\") }),
           !containsHedge(bytes[start..<math]) {
            start = math
        }
        return bytes[start..<end]
    }

    /// The next `$` that is not written `\$`, or the end.
    private func closingDollar(from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
            if bytes[index] == UInt8(ascii: "$") { return index }
            index += 1
        }
        return bytes.count
    }

    /// Words that make the number after them a guess or a negation ("probably 12", "not 3").
    private static let hedges: Set<String> = [
        "probably", "maybe", "likely", "perhaps", "possibly", "not", "either", "between", "around", "roughly",
        "approximately", "about", "unclear", "unknown", "guess", "neither", "nor",
    ]

    private func containsHedge(_ text: ArraySlice<UInt8>) -> Bool {
        text.split(whereSeparator: { !$0.isASCIILetter }).contains {
            CompletionScanner.hedges.contains(String(decoding: $0, as: UTF8.self).lowercased())
        }
    }

    /// Words that can begin a plain-text math answer.
    private static let mathWords: Set<String> = [
        "sqrt", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "arcsin", "arccos", "arctan", "infinity", "inf",
        "infty", "pi", "frac", "even", "odd", "true", "false", "yes", "none", "all",
    ]

    // MARK: Fallbacks (eval mode)

    func lastDisplayMath() -> ArraySlice<UInt8>? {
        let bracket = lastIndex(of: "\\[")
        let dollars = lastIndex(of: "$$")
        if let b = bracket, b >= (dollars ?? -1) {
            let close = firstIndex(of: "\\]", from: b + 2) ?? bytes.count
            return bytes[(b + 2)..<close]
        }
        if let d = dollars, d >= 2, let open = lastIndex(of: "$$", before: d) {
            return bytes[(open + 2)..<d]
        }
        return nil
    }

    /// The last "answer" directly followed by math (`Answer $ 9 $`, `answer \( 10 \)`).
    func lastAnswerWordWithMath() -> ArraySlice<UInt8>? {
        var limit = bytes.count
        while let index = lastIndex(of: "answer", caseInsensitive: true, before: limit) {
            var next = index + 6
            while next < bytes.count, bytes[next] == 32 { next += 1 }
            if next < bytes.count, bytes[next] == UInt8(ascii: "$") || bytes.hasPrefix("\\(", at: next) || bytes.hasPrefix("\\[", at: next) {
                return answerAfter(next)
            }
            limit = index + 5
        }
        return nil
    }

    /// The `$` before `limit` that is not written `\$`.
    private func lastUnescapedDollar(before limit: Int) -> Int? {
        var index = limit - 1
        while index >= 0 {
            if bytes[index] == UInt8(ascii: "$"), index == 0 || bytes[index - 1] != UInt8(ascii: "\\") { return index }
            index -= 1
        }
        return nil
    }

    func lastInlineMath() -> ArraySlice<UInt8>? {
        if let close = lastUnescapedDollar(before: bytes.count), close >= 1, let open = lastUnescapedDollar(before: close) {
            return bytes[(open + 1)..<close]
        }
        if let close = lastIndex(of: "\\)"), let open = lastIndex(of: "\\(", before: close) {
            return bytes[(open + 2)..<close]
        }
        return nil
    }

    /// LaTeX written without delimiters at the end of the text (`\frac{10}{9}`, `so x = -\sqrt{2}`):
    /// the longest run of math-like, space-separated pieces ending the last line, when it holds a
    /// LaTeX command and its braces balance. A piece is math-like when every run of letters in it
    /// is a command name (after `\`) or a single letter.
    func lastBareMath() -> ArraySlice<UInt8>? {
        var end = bytes.count
        while end > 0, bytes[end - 1].isASCIISpace || bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
        guard end > 0 else { return nil }
        var lineStart = end
        while lineStart > 0, bytes[lineStart - 1] != UInt8(ascii: "\n") { lineStart -= 1 }
        var start = end
        var pieceEnd = end
        while pieceEnd > lineStart {
            var pieceStart = pieceEnd
            while pieceStart > lineStart, bytes[pieceStart - 1] != 32 { pieceStart -= 1 }
            guard Self.isMathLike(bytes[pieceStart..<pieceEnd]) else { break }
            start = pieceStart
            pieceEnd = pieceStart
            while pieceEnd > lineStart, bytes[pieceEnd - 1] == 32 { pieceEnd -= 1 }
        }
        let span = bytes[start..<end]
        guard span.contains(UInt8(ascii: "\\")),
              span.filter({ $0 == UInt8(ascii: "{") }).count == span.filter({ $0 == UInt8(ascii: "}") }).count else { return nil }
        return span
    }

    private static func isMathLike(_ piece: ArraySlice<UInt8>) -> Bool {
        guard !piece.isEmpty else { return false }
        var index = piece.startIndex
        while index < piece.endIndex {
            let byte = piece[index]
            if byte.isASCIILetter {
                var runEnd = index
                while runEnd < piece.endIndex, piece[runEnd].isASCIILetter { runEnd += 1 }
                let isCommand = index > piece.startIndex && piece[index - 1] == UInt8(ascii: "\\")
                if runEnd - index > 1 && !isCommand { return false }
                index = runEnd
            } else if byte >= 0x80 || byte == UInt8(ascii: "$") {
                return false
            } else {
                index += 1
            }
        }
        return true
    }

    /// The letter of a completion that opens with a multiple-choice pick: `A. Because …`,
    /// `(B) since …`, `C) …` — a capital A–H, then `.` or `)`, then a blank or the end.
    func leadingChoiceLetter() -> ArraySlice<UInt8>? {
        var index = 0
        while index < bytes.count, bytes[index].isASCIISpace { index += 1 }
        let parenthesized = index < bytes.count && bytes[index] == UInt8(ascii: "(")
        if parenthesized { index += 1 }
        guard index + 1 < bytes.count, (UInt8(ascii: "A")...UInt8(ascii: "H")).contains(bytes[index]) else { return nil }
        let letter = index
        let closer = bytes[index + 1]
        guard parenthesized ? closer == UInt8(ascii: ")") : (closer == UInt8(ascii: ".") || closer == UInt8(ascii: ")")) else { return nil }
        guard index + 2 == bytes.count || bytes[index + 2].isASCIISpace else { return nil }
        return bytes[letter...letter]
    }

    /// The last number in the text that is not glued to a word (`AZYUK2A` holds none).
    func lastNumber() -> ArraySlice<UInt8>? {
        var end = bytes.count - 1
        while end >= 0 {
            while end >= 0, !bytes[end].isASCIIDigit { end -= 1 }
            guard end >= 0 else { return nil }
            var start = end
            while start > 0 {
                let byte = bytes[start - 1]
                // Thousands separators: a comma or space between digit groups of three.
                let isGroupSeparator = (byte == UInt8(ascii: ",") || byte == 32) && start + 2 < bytes.count && start >= 2
                    && bytes[start].isASCIIDigit && bytes[start + 1].isASCIIDigit && bytes[start + 2].isASCIIDigit
                    && (start + 3 >= bytes.count || !bytes[start + 3].isASCIIDigit) && bytes[start - 2].isASCIIDigit
                guard byte.isASCIIDigit || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") || isGroupSeparator else { break }
                start -= 1
            }
            if start > 0, bytes[start - 1].isASCIILetter {
                end = start - 1
                continue
            }
            if start > 0, bytes[start - 1] == UInt8(ascii: "-") { start -= 1 }
            return bytes[start...end]
        }
        return nil
    }

    // MARK: Trimming

    /// Strips blanks, math delimiters, trailing periods and "I hope it is correct".
    static func trimAnswer(_ slice: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var result = slice
        var changed = true
        while changed {
            changed = false
            while let first = result.first, first.isASCIISpace || first == UInt8(ascii: "$") {
                result = result.dropFirst(); changed = true
            }
            while let last = result.last, last.isASCIISpace || last == UInt8(ascii: "$") || last == UInt8(ascii: "."),
                  !(last == UInt8(ascii: "$") && result.dropLast().last == UInt8(ascii: "\\")) {  // `\$` is a dollar sign
                result = result.dropLast(); changed = true
            }
            for (open, close) in CompletionScanner.mathDelimiters {
                if result.count >= 4, result.prefix(2).elementsEqual(open), result.suffix(2).elementsEqual(close) {
                    result = result.dropFirst(2).dropLast(2); changed = true
                }
            }
            let hope = CompletionScanner.hopeSentence
            if result.count > hope.count, result.suffix(hope.count).elementsEqual(hope) {
                result = result.dropLast(hope.count); changed = true
            }
        }
        return result
    }

    // MARK: Searching

    private func matches(_ pattern: [UInt8], at index: Int, caseInsensitive: Bool) -> Bool {
        if index < 0 || index + pattern.count > bytes.count { return false }
        for offset in 0..<pattern.count {
            let byte = bytes[index + offset]
            if caseInsensitive ? (byte.isASCIILetter ? byte | 0x20 : byte) != pattern[offset] : byte != pattern[offset] { return false }
        }
        return true
    }

    func lastIndex(of needle: String, caseInsensitive: Bool = false, before limit: Int? = nil) -> Int? {
        let pattern = Array(needle.utf8)
        guard let first = pattern.first else { return nil }
        var index = min(limit ?? bytes.count, bytes.count) - pattern.count
        while index >= 0 {
            let byte = bytes[index]
            if (caseInsensitive && byte.isASCIILetter ? byte | 0x20 : byte) == first, matches(pattern, at: index, caseInsensitive: caseInsensitive) {
                return index
            }
            index -= 1
        }
        return nil
    }

    func firstIndex(of needle: String, from start: Int, caseInsensitive: Bool = false) -> Int? {
        let pattern = Array(needle.utf8)
        guard let first = pattern.first else { return nil }
        var index = max(start, 0)
        while index + pattern.count <= bytes.count {
            let byte = bytes[index]
            if (caseInsensitive && byte.isASCIILetter ? byte | 0x20 : byte) == first, matches(pattern, at: index, caseInsensitive: caseInsensitive) {
                return index
            }
            index += 1
        }
        return nil
    }
}
