/* The from-source example: compiled inside the build, shipped alone. */
#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	printf("hello from a static binary built by stele (uid %d)%s%s\n",
	       (int)getuid(), argc > 1 ? ": " : "", argc > 1 ? argv[1] : "");
	return 0;
}
