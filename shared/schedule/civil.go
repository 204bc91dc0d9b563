package schedule

// Civil (wall-clock) calendar arithmetic on the proleptic Gregorian calendar, with no zone
// involved. A wall time is held as "wall seconds": the seconds since 1970-01-01 00:00:00 of the
// wall clock, as if it were UTC.

const secondsPerDay = 86400

// civil is a wall-clock date and time, to the second.
type civil struct {
	year, month, day, hour, minute, second int
}

// floorDiv is a / b rounded towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// daysFromCivil returns the days since 1970-01-01 of y-m-d (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := floorDiv(yy, 400)
	yoe := yy - era*400
	mp := (int64(m) + 9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// weekdayOfDays is the weekday (0 = Sunday) of a day number; 1970-01-01 was a Thursday.
func weekdayOfDays(days int64) int {
	return int((days%7 + 7 + 4) % 7)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// lastDay is the number of days in month m of year y.
func lastDay(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// wallSeconds returns c as wall seconds.
func (c civil) wallSeconds() int64 {
	return daysFromCivil(c.year, c.month, c.day)*secondsPerDay +
		int64(c.hour*3600+c.minute*60+c.second)
}

// civilOf splits wall seconds into a civil date and time.
func civilOf(w int64) civil {
	days := floorDiv(w, secondsPerDay)
	sod := int(w - days*secondsPerDay)
	y, m, d := civilFromDays(days)
	return civil{year: y, month: m, day: d, hour: sod / 3600, minute: sod / 60 % 60, second: sod % 60}
}
