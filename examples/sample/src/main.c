/* main.c - sample program for the aim demo (deliberately badly formatted) */
#include <stdio.h>
#include "util.h"

int main(int argc,char **argv){
int i;int total=0;
    for(i=1;i<argc;i++){ total+=parse_count(argv[i]);
  }
        printf("total: %d\n",total);
  return total>0?0:1;}
