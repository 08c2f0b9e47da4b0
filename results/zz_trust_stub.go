package results

type TrustOptions struct{ NoisyShare, UnstableWidth, Confidence float64 }

var DefaultTrust = TrustOptions{NoisyShare: 0.10, UnstableWidth: 0.10, Confidence: 0.95}

func (r *Result) Assess(o TrustOptions)   {}
func (r *Result) Headline() string        { return "" }
func (iv Interval) RelHalfWidth() float64 { return 0 }
