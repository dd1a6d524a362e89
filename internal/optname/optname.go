// Package optname lets a library name its options in the messages it
// builds (errors, warnings, notes, answers of the local engine) the way
// its caller's users know them: a program built on the library names its
// own flags or settings, and the library never hard-codes them.
//
// A library's options struct carries an OptionName func (a Func); every
// message that tells the user to set an option names it through Name. The
// option is given as the library's API spells it, the name of a field of
// its options (such as "Plan", "Compare", "Profile"), which is also what
// the message says when the caller gave no Func. cmd/s3batchkit maps
// these names to its flags (such as "--plan") in one table per command.
package optname

// Func maps an option, named as the library's API spells it, to the name
// the caller's users know it by. It returns "" for an option it does not
// rename.
type Func = func(option string) string

// Name returns f's name for option, or option itself when f is nil or
// returns "".
func Name(f Func, option string) string {
	if f != nil {
		if n := f(option); n != "" {
			return n
		}
	}
	return option
}
