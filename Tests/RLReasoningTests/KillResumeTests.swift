import Foundation
import RLModel
import RLReasoning
import Testing
import RLTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The package root (three levels above this file).
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `grpo-train` executable `swift build` made: `GRPO_TRAIN_BINARY`, else `.build/debug/grpo-train`.
private let grpoTrainBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["GRPO_TRAIN_BINARY"], !path.isEmpty { return URL(fileURLWithPath: path) }
    return packageRoot.appendingPathComponent(".build/debug/grpo-train")
}()

private var binaryIsMissing: Bool { !FileManager.default.isExecutableFile(atPath: grpoTrainBinary.path) }

/// A recipe like `smallConfiguration()` with one micro-step per optimizer step.
private let smallRecipe = """
    # A tiny run for the fixture model.
    learning_rate: 1.0e-3
    lr_scheduler_type: cosine_with_min_lr
    lr_scheduler_kwargs:
      min_lr_rate: 0.1
    warmup_ratio: 0.25
    max_steps: 8
    save_steps: 2
    gradient_accumulation_steps: 1
    num_generations: 3
    per_device_train_batch_size: 6
    max_prompt_length: 32
    max_completion_length: 6
    temperature: 1.0
    beta: 0.04
    reward_funcs: [format, reasoning_steps, repetition_penalty]
    reward_weights: [1.0, 0.5, 1.0]
    system_prompt: null
    gradient_checkpointing: true
    seed: 7
    """

/// A `grpo-train` run in a subprocess, its output going to `log`.
private struct TrainRun {
    let process = Process()
    let log: URL

    init(folder: URL, output: URL, resume: Bool, name: String, extra: [String] = []) throws {
        log = folder.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = grpoTrainBinary
        process.arguments = ["--recipe", folder.appendingPathComponent("recipe.yaml").path,
                             "--model", folder.appendingPathComponent("model").path,
                             "--dataset", folder.appendingPathComponent("train.jsonl").path,
                             "--output", output.path] + (resume ? ["--resume"] : []) + extra
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits for the process to end (at most `seconds`; then it is killed and false returned).
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return false }
            usleep(20_000)
        }
        process.waitUntilExit()
        return true
    }
}

/// Steps recorded in a run's metrics.jsonl, without the timing fields (a line being written is skipped).
private func metrics(_ output: URL) -> [StepMetrics] {
    guard let data = try? Data(contentsOf: output.appendingPathComponent("metrics.jsonl")) else { return [] }
    return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONDecoder().decode(StepMetrics.self, from: Data($0)) }.map(comparable)
}

private func entries(_ output: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []).sorted()
}

/// Every `checkpoint-*` folder is complete: it has trainer_state.json and its weights load.
private func expectCompleteCheckpoints(_ output: URL, _ when: String) {
    let names = entries(output).filter { $0.hasPrefix("checkpoint-") }
    #expect(!names.isEmpty, "\(when): no checkpoint in \(output.path)")
    for name in names {
        let folder = output.appendingPathComponent(name)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("trainer_state.json").path),
                "\(when): \(name) has no trainer_state.json")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("optimizer.safetensors").path),
                "\(when): \(name) has no optimizer.safetensors")
        #expect(throws: Never.self, "\(when): \(name) does not load") { _ = try DecoderModel.load(from: folder) }
    }
}

/// The fixture model (`model/`), twelve arithmetic rows (`train.jsonl`) and the small recipe
/// (`recipe.yaml`) that `TrainRun` runs on, written into `folder`.
private func writeRunInputs(in folder: URL) throws {
    let model = folder.appendingPathComponent("model")
    try fixturePolicy().save(to: model)
    try fixtureTokenizer().save(to: model)
    let rows = (0..<12).map { #"{"problem": "What is \#($0) + 2?", "answer": "\#($0 + 2)"}"# }
    try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("train.jsonl"))
    try Data(smallRecipe.utf8).write(to: folder.appendingPathComponent("recipe.yaml"))
}

/// Crash safety of the real `grpo-train` executable: SIGKILL in the middle of a run, then
/// `--resume`, must give exactly the run that was never interrupted.
@Suite("grpo-train: kill and resume", .serialized)
struct KillResumeTests {
    @Test("SIGKILL mid-run, then --resume: complete checkpoints, no partial folder, same metrics as an uninterrupted run",
          .enabled(if: !binaryIsMissing, "grpo-train is not built at \(grpoTrainBinary.path); run `swift build` first (or set GRPO_TRAIN_BINARY)"),
          .timeLimit(.minutes(3)))
    func killAndResume() throws {
        let folder = try temporaryFolder("kill-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeRunInputs(in: folder)
        let straight = folder.appendingPathComponent("straight"), killed = folder.appendingPathComponent("killed")

        // The uninterrupted run and the one to be killed run side by side.
        let baseline = try TrainRun(folder: folder, output: straight, resume: false, name: "straight")
        let victim = try TrainRun(folder: folder, output: killed, resume: false, name: "killed")
        let deadline = Date().addingTimeInterval(120)
        var killedAt = 0
        while victim.process.isRunning && Date() < deadline {
            let steps = metrics(killed).map(\.step)
            if let last = steps.last, last >= 3 {
                kill(victim.process.processIdentifier, SIGKILL)
                killedAt = last
                break
            }
            usleep(10_000)
        }
        victim.process.waitUntilExit()
        #expect(victim.process.terminationReason == .uncaughtSignal && victim.process.terminationStatus == SIGKILL,
                "the run was not killed mid-way (status \(victim.process.terminationStatus), step \(killedAt)):\n\(victim.text)")
        #expect(killedAt >= 3 && killedAt < 8, "killed at step \(killedAt)")
        #expect(baseline.wait(seconds: 120), "the uninterrupted run did not finish:\n\(baseline.text)")
        #expect(baseline.process.terminationStatus == 0, "the uninterrupted run failed:\n\(baseline.text)")

        // What the kill left behind: only complete checkpoints under checkpoint-* names.
        expectCompleteCheckpoints(killed, "after the kill")

        // Resume to the end.
        let resumed = try TrainRun(folder: folder, output: killed, resume: true, name: "resumed")
        #expect(resumed.wait(seconds: 120), "the resumed run did not finish:\n\(resumed.text)")
        #expect(resumed.process.terminationStatus == 0, "the resumed run failed:\n\(resumed.text)")
        #expect(resumed.text.contains("resumed from checkpoint-"), "no resume line:\n\(resumed.text)")

        let expected = metrics(straight), got = metrics(killed)
        #expect(expected.map(\.step) == Array(1...8), "uninterrupted run steps: \(expected.map(\.step))")
        #expect(got.map(\.step) == Array(1...8), "resumed run steps: \(got.map(\.step))")
        #expect(got == expected, "metrics of the resumed run differ from the uninterrupted run")
        #expect(!entries(killed).contains { $0.hasSuffix(".partial") }, "leftover partial folder: \(entries(killed))")
        expectCompleteCheckpoints(killed, "after the resume")
        #expect(entries(killed).filter { $0.hasPrefix("checkpoint-") } == entries(straight).filter { $0.hasPrefix("checkpoint-") })

        // The sample completions log holds each step once, as the uninterrupted run's does.
        func completionSteps(_ output: URL) -> [Int] {
            guard let data = try? Data(contentsOf: output.appendingPathComponent("completions.jsonl")) else { return [] }
            return data.split(separator: UInt8(ascii: "\n")).compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])?["step"] as? Int
            }
        }
        // Known issue (GRPOTrainer+Run.swift, reported to the lead): on resume, completions.jsonl is not
        // cut back to the checkpoint's step like metrics.jsonl, so the steps redone after the kill are
        // logged twice (only when the kill lands after a step that is not a checkpoint step).
        #expect(completionSteps(killed) == completionSteps(straight), "completions.jsonl: \(completionSteps(killed)) vs \(completionSteps(straight))")

        // The final weights are the same too.
        let a = try DecoderModel.load(from: straight.appendingPathComponent("checkpoint-8")).parameters
        let b = try DecoderModel.load(from: killed.appendingPathComponent("checkpoint-8")).parameters
        #expect(a.keys.sorted() == b.keys.sorted())
        for (name, tensor) in a { #expect(tensor.toFloatArray() == b[name]?.toFloatArray(), "\(name) differs") }
    }
}

/// `grpo-train --resume` refuses a run whose model or math settings differ from the checkpoint's
/// run manifest, naming the keys in one line, unless `--resume-allow-changes` names them.
@Suite("grpo-train: resume manifest", .serialized)
struct ResumeManifestCommandTests {
    @Test(.enabled(if: !binaryIsMissing, "grpo-train is not built at \(grpoTrainBinary.path); run `swift build` first"),
          .timeLimit(.minutes(3)))
    func aChangedSettingOrModelIsRefusedUnlessAllowed() throws {
        let folder = try temporaryFolder("resume-manifest")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeRunInputs(in: folder)
        let model = folder.appendingPathComponent("model")
        let output = folder.appendingPathComponent("run")
        func run(_ name: String, resume: Bool, _ extra: [String]) throws -> (status: Int32, text: String) {
            let process = try TrainRun(folder: folder, output: output, resume: resume, name: name, extra: ["--max_steps", "2"] + extra)
            #expect(process.wait(seconds: 120), "\(name) did not finish:\n\(process.text)")
            return (process.process.terminationStatus, process.text)
        }
        let first = try run("first", resume: false, [])
        #expect(first.status == 0, "\(first.text)")
        #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("checkpoint-2/run_manifest.json").path))

        let changed = try run("changed", resume: true, ["--learning_rate", "2e-3"])
        #expect(changed.status != 0)
        let line = changed.text.split(separator: "\n").filter { $0.hasPrefix("grpo-train:") }
        #expect(line.count == 1 && line[0].contains("learning_rate 0.001 -> 0.002") && line[0].contains("--resume-allow-changes learning_rate"),
                "\(changed.text)")

        let allowed = try run("allowed", resume: true, ["--learning_rate", "2e-3", "--resume-allow-changes", "learning_rate"])
        #expect(allowed.status == 0 && allowed.text.contains("resumed from checkpoint-2"), "\(allowed.text)")

        // Other weights in the same model folder: refused by content, whatever the folder's name.
        try DecoderModel(randomWeights: try fixturePolicy().config, seed: 99).save(to: model)
        let otherModel = try run("other-model", resume: true, ["--learning_rate", "2e-3"])
        #expect(otherModel.status != 0 && otherModel.text.contains("model.weights (changed)"), "\(otherModel.text)")

        // File errors are one line with the path and the system's words, not a CocoaError dump.
        let log = folder.appendingPathComponent("errors.log")
        func text() -> String { String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self) }
        let noRecipe = runProcess(grpoTrainBinary.path, ["--recipe", folder.appendingPathComponent("nowhere.yaml").path,
                                                         "--model", model.path], log: log)
        #expect(noRecipe != 0 && text() == "grpo-train: setting '\(folder.path)/nowhere.yaml': cannot read the recipe: No such file or directory\n",
                "\(text())")
        let notAFolder = folder.appendingPathComponent("train.jsonl/out")
        let unwritable = runProcess(grpoTrainBinary.path, ["--recipe", folder.appendingPathComponent("recipe.yaml").path, "--model", model.path,
                                                           "--dataset", folder.appendingPathComponent("train.jsonl").path,
                                                           "--output", notAFolder.path], log: log)
        #expect(unwritable != 0 && text().contains("grpo-train: \(notAFolder.path): cannot create the output folder (Not a directory)"),
                "\(text())")
    }
}
