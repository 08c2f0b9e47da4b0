package notify

// Op is the kind of one registration change in a batch.
type Op uint8

const (
	OpAdd Op = iota
	OpModify
	OpRemove
)

func (o Op) String() string {
	switch o {
	case OpAdd:
		return "add"
	case OpModify:
		return "modify"
	case OpRemove:
		return "remove"
	}
	return "op(" + string(rune('0'+o)) + ")"
}

// Change is one entry of a batch: the arguments Add, Modify or Remove
// would take (Token, In and Tr are ignored for OpRemove), and the error
// that call would have returned, set by Batch.
type Change struct {
	Op    Op
	FD    int
	Token uint64
	In    Interest
	Tr    Trigger
	Err   error
}

// Batcher is implemented by backends whose control call takes many
// registration changes at once (kevent_ctl's array of ukevents). Batch
// applies the changes in order, with the effect of the same sequence of
// Add, Modify and Remove calls, in as few control calls as the mechanism
// allows. A change that fails sets its Err and does not stop the others;
// Batch returns the first such error, or nil. Hot paths may call it: it
// allocates nothing once its scratch has grown to the batch size.
type Batcher interface {
	Batch(changes []Change) error
}
