module gpmbench

go 1.27
