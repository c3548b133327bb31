import Foundation
import RLTensor
import Testing

/// Optimisers, gradient clipping and learning-rate schedules against their formulas, computed
/// by hand in Double.
@Suite("Optimisers and schedules")
struct OptimizerTests {
    @Test("AdamW matches three hand-computed steps (bias correction, decoupled decay)", arguments: TestDevices.all)
    func adamW(device: Device) {
        let initial: [Double] = [0.5, -1.0, 2.0, 0.0]
        let grads: [[Double]] = [[0.1, -0.2, 0.3, 0.0], [0.05, 0.4, -0.1, 1.0], [-0.3, 0.1, 0.2, -2.0]]
        let rates: [Double] = [1e-2, 5e-3, 2e-2]
        // The optimiser holds f32 hyper-parameters, so the reference uses the same rounded betas.
        let (beta1, beta2, eps, decay) = (Double(Float(0.9)), Double(Float(0.999)), 1e-8, 0.1)
        let parameter = Tensor(initial.map(Float.init), shape: [4], device: device)
        let untouched = Tensor([1, 2] as [Float], shape: [2], device: device)
        let optimizer = AdamW(beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(eps), weightDecay: Float(decay))
        var p = initial, m = [Double](repeating: 0, count: 4), v = m
        for (t, (g, lr)) in zip(grads, rates).enumerated() {
            optimizer.update(["w": parameter, "frozen": untouched],
                             gradients: ["w": Tensor(g.map(Float.init), shape: [4], device: device)], learningRate: Float(lr))
            let step = Double(t + 1)
            for i in 0..<4 {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                let mHat = m[i] / (1 - Foundation.pow(beta1, step)), vHat = v[i] / (1 - Foundation.pow(beta2, step))
                p[i] = p[i] * (1 - lr * decay) - lr * mHat / (vHat.squareRoot() + eps)
            }
            expectClose(parameter, p, shape: [4], atol: 1e-6, rtol: 1e-5, "AdamW step \(t + 1)")
            expectClose(optimizer.firstMoments["w"]!, m, shape: [4], atol: 1e-7, rtol: 1e-5, "first moment \(t + 1)")
            expectClose(optimizer.secondMoments["w"]!, v, shape: [4], atol: 1e-9, rtol: 1e-5, "second moment \(t + 1)")
        }
        #expect(optimizer.step == 3)
        #expect(untouched.toFloatArray() == [1, 2], "a parameter without a gradient must not move")
        #expect(optimizer.firstMoments["frozen"] == nil)
    }

    @Test("AdamW resumes from restored state exactly as if it had not stopped", arguments: TestDevices.all)
    func adamWRestore(device: Device) {
        let g1 = Tensor([0.3, -0.1] as [Float], shape: [2], device: device), g2 = Tensor([-0.2, 0.5] as [Float], shape: [2], device: device)
        let a = Tensor([1, 1] as [Float], shape: [2], device: device), b = Tensor([1, 1] as [Float], shape: [2], device: device)
        let straight = AdamW(weightDecay: 0.01)
        straight.update(["p": a], gradients: ["p": g1], learningRate: 0.1)
        straight.update(["p": a], gradients: ["p": g2], learningRate: 0.1)
        let first = AdamW(weightDecay: 0.01)
        first.update(["p": b], gradients: ["p": g1], learningRate: 0.1)
        let resumed = AdamW(weightDecay: 0.01)
        resumed.restore(step: first.step, firstMoments: ["p": first.firstMoments["p"]!.contiguous()],
                        secondMoments: ["p": first.secondMoments["p"]!.contiguous()])
        resumed.update(["p": b], gradients: ["p": g2], learningRate: 0.1)
        #expect(a.toFloatArray() == b.toFloatArray())
    }

    @Test("SGD with and without momentum", arguments: TestDevices.all)
    func sgd(device: Device) {
        let g1: [Float] = [1, -2], g2: [Float] = [0.5, 0.5]
        let plain = Tensor([1, 1] as [Float], shape: [2], device: device)
        let sgd = SGD()
        sgd.update(["p": plain], gradients: ["p": Tensor(g1, shape: [2], device: device)], learningRate: 0.1)
        expectClose(plain, [1 - 0.1, 1 + 0.2], shape: [2], "plain step")
        // Momentum 0.9: v1 = g1, v2 = 0.9 v1 + g2; p -= lr * v.
        let heavy = Tensor([1, 1] as [Float], shape: [2], device: device)
        let momentum = SGD(momentum: 0.9)
        momentum.update(["p": heavy], gradients: ["p": Tensor(g1, shape: [2], device: device)], learningRate: 0.1)
        momentum.update(["p": heavy], gradients: ["p": Tensor(g2, shape: [2], device: device)], learningRate: 0.1)
        let v2 = [0.9 * 1 + 0.5, 0.9 * -2 + 0.5]
        expectClose(heavy, [1 - 0.1 * 1 - 0.1 * v2[0], 1 + 0.1 * 2 - 0.1 * v2[1]], shape: [2], "momentum")
    }

    @Test("gradient clipping scales by maxNorm / (norm + 1e-6) only above the threshold", arguments: TestDevices.all)
    func clipping(device: Device) {
        // Global norm sqrt(3^2 + 4^2 + 12^2) = 13.
        func gradients() -> [String: Tensor] {
            ["a": Tensor([3, 4] as [Float], shape: [2], device: device), "b": Tensor([12] as [Float], shape: [1, 1], device: device)]
        }
        #expect(globalGradientNorm(gradients()) == 13)
        var clipped = gradients()
        #expect(clipGradientNorm(&clipped, maxNorm: 6.5) == 13)
        let factor = 6.5 / (13 + 1e-6)
        expectClose(clipped["a"]!, [3 * factor, 4 * factor], shape: [2], atol: 0, rtol: 1e-6, "clipped a")
        expectClose(clipped["b"]!, [12 * factor], shape: [1, 1], atol: 0, rtol: 1e-6, "clipped b")
        var kept = gradients()
        #expect(clipGradientNorm(&kept, maxNorm: 20) == 13)
        #expect(kept["a"]!.toFloatArray() == [3, 4])
        var broken = gradients()
        broken["c"] = Tensor([.infinity] as [Float], shape: [1], device: device)
        #expect(clipGradientNorm(&broken, maxNorm: 1).isInfinite)
        #expect(broken["a"]!.toFloatArray() == [3, 4], "a non-finite norm leaves the gradients alone")
    }

    @Test("learning-rate schedules follow the transformers formulas")
    func schedules() {
        func expectMultipliers(_ schedule: LearningRateSchedule, _ expected: [Int: Double], sourceLocation: SourceLocation = #_sourceLocation) {
            for (step, want) in expected.sorted(by: { $0.key < $1.key }) {
                let got = schedule.multiplier(atStep: step)
                #expect(Swift.abs(got - want) < 1e-12, "\(schedule) at step \(step): \(got), expected \(want)", sourceLocation: sourceLocation)
            }
        }
        expectMultipliers(.constant, [0: 1, 7: 1, 1000: 1])
        expectMultipliers(.constantWithWarmup(warmupSteps: 4), [0: 0, 1: 0.25, 3: 0.75, 4: 1, 50: 1])
        // linear(2, 10): warmup step/2, then (10 - step) / 8, never below 0.
        expectMultipliers(.linear(warmupSteps: 2, totalSteps: 10), [0: 0, 1: 0.5, 2: 1, 6: 0.5, 9: 0.125, 10: 0, 12: 0])
        // cosine(2, 10): 0.5 (1 + cos(pi (step - 2) / 8)).
        expectMultipliers(.cosine(warmupSteps: 2, totalSteps: 10),
                          [1: 0.5, 2: 1, 4: 0.5 * (1 + Foundation.cos(Double.pi / 4)), 6: 0.5, 10: 0])
        // cosine_with_min_lr(3, 13, 0.1): the first update gets 0, the peak is at the end of
        // warmup, half-way down is 0.1 + 0.9 * 0.5, the last step is minLRRate.
        let openRS = LearningRateSchedule.cosineWithMinLR(warmupSteps: 3, totalSteps: 13, minLRRate: 0.1)
        expectMultipliers(openRS, [0: 0, 1: 1.0 / 3, 2: 2.0 / 3, 3: 1, 8: 0.55,
                                   10: 0.1 + 0.9 * 0.5 * (1 + Foundation.cos(Double.pi * 0.7)), 13: 0.1])
        #expect((0...13).map(openRS.multiplier(atStep:)).max() == 1)
        // Without warmup the first update already gets the peak.
        expectMultipliers(.cosineWithMinLR(warmupSteps: 0, totalSteps: 4, minLRRate: 0), [0: 1, 2: 0.5, 4: 0])
        // transformers: warmup = ceil(ratio * total).
        #expect(LearningRateSchedule.warmupSteps(ratio: 0.1, totalSteps: 95) == 10)
        #expect(LearningRateSchedule.warmupSteps(ratio: 0.1, totalSteps: 100) == 10)
        #expect(LearningRateSchedule.warmupSteps(ratio: 0.05, totalSteps: 100) == 5)
        #expect(LearningRateSchedule.warmupSteps(ratio: 0, totalSteps: 100) == 0)
    }
}
