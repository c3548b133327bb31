/// Metrics over problems: the unbiased pass@k estimator and the mean with its standard error.
public enum PassAtK {
    /// The unbiased estimate of pass@k from `n` samples of which `c` are correct (Chen et al. 2021):
    /// `1 - C(n-c, k) / C(n, k)`, computed as the product `prod_{i=n-c+1}^{n} (1 - k/i)`, which
    /// neither overflows nor loses precision. Needs 1 ≤ `k` ≤ `n` and 0 ≤ `c` ≤ `n`, else throws
    /// `TrainingError.invalidArgument`.
    public static func estimate(samples n: Int, correct c: Int, k: Int) throws -> Double {
        guard n >= 1 && k >= 1 && k <= n && c >= 0 && c <= n else {
            throw TrainingError.invalidArgument(name: "k", reason: "pass@k needs 1 ≤ k ≤ samples and 0 ≤ correct ≤ samples, got k \(k), "
                + "samples \(n), correct \(c)")
        }
        if c == 0 { return 0 }
        if n - c < k { return 1 }
        var product = 1.0
        for i in (n - c + 1)...n {
            product *= 1 - Double(k) / Double(i)
        }
        return 1 - product
    }

    /// The mean of `values` and its standard error: the sample standard deviation (divisor
    /// `count - 1`) over the square root of `count`, as lighteval reports it; 0 for one value.
    public static func meanAndStandardError(_ values: [Double]) -> (mean: Double, standardError: Double) {
        guard !values.isEmpty else { return (0, 0) }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        guard values.count > 1 else { return (mean, 0) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, variance.squareRoot() / n.squareRoot())
    }

    /// The k values reported for `n` samples: 1, the powers of two below `n`, and `n`.
    public static func defaultKs(samples n: Int) -> [Int] {
        var ks: [Int] = []
        var k = 1
        while k < n { ks.append(k); k *= 2 }
        ks.append(n)
        return ks
    }
}
